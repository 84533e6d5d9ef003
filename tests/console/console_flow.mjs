// console_flow.mjs - the console's user flows in a real browser against a
// real grantd, driven by tests/e2e/test_console.py, which starts the server,
// makes the IdP's key and certificate, mints the assertions and obtains the
// token. Each step prints "ok - ..."; the last line is a JSON object with
// what the test needs (the client key and secret read from the page). Any
// failed check exits non-zero.
//
// Env: GRANTD_BASE (https://localhost:<port>), GRANTD_SPKI, GRANTD_ADMIN,
// GRANTD_PASSWORD, IDP_CERT_FILE (PEM), IDP_NAME, EXPIRED_JWT.
import { launch, newPage, login, check, env } from './lib.mjs';

const base = env('GRANTD_BASE');
const idpName = env('IDP_NAME');
const browser = await launch();
const result = {};
try {
  const { page, problems } = await newPage(browser);

  // Log in; the session is an HttpOnly, Secure, SameSite=Strict cookie and
  // nothing is kept in web storage.
  await login(page, base, env('GRANTD_ADMIN'), env('GRANTD_PASSWORD'));
  const cookies = await page.context().cookies();
  const sc = cookies.find((c) => c.name === '__Host-grantd_session');
  check(sc && sc.httpOnly && sc.secure && sc.sameSite === 'Strict' && sc.path === '/', 'session cookie is HttpOnly, Secure, SameSite=Strict, Path=/');
  const storage = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
  check(storage[0] === 0 && storage[1] === 0, 'nothing in localStorage or sessionStorage');
  check(await page.evaluate(() => document.cookie) === '', 'the page script cannot read the session cookie');

  // Add an IdP by uploading a certificate file: the parsed subject and
  // thumbprint appear before saving.
  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await page.getByRole('heading', { name: 'Add Identity Provider' }).waitFor();
  await page.getByLabel('Identity Provider Name').fill(idpName);
  await page.getByLabel('Upload IDP certificate').check();
  await page.getByLabel('IDP certificate (PEM file)').setInputFiles(env('IDP_CERT_FILE'));
  const subject = await page.getByTestId('cert-subject').textContent();
  check(subject.includes(`CN=${idpName}`), `parsed subject shown before saving (${subject})`);
  result.thumbprint = (await page.getByTestId('cert-thumbprint').textContent()).trim();
  const alias = await page.getByLabel('Alias').inputValue();
  check(alias === `${base}/oauth2/token`, `alias pre-filled with the token endpoint (${alias})`);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { name: 'Identity Providers', level: 1 }).waitFor();
  await page.getByRole('link', { name: idpName, exact: true }).waitFor();
  check(true, 'identity provider registered and listed');

  // Edit it: the stored certificate is shown with the server's reading of
  // it; a changed description is saved with everything else kept.
  await page.getByRole('link', { name: idpName, exact: true }).click();
  await page.getByRole('heading', { name: `Identity Provider: ${idpName}` }).waitFor();
  const stored = (await page.getByTestId('cert-thumbprint').textContent()).trim();
  check(stored === result.thumbprint, 'the stored certificate has the thumbprint shown before saving');
  await page.getByLabel('Description').fill('edited in the console');
  await page.getByRole('button', { name: 'Update' }).click();
  await page.getByRole('heading', { name: 'Identity Providers', level: 1 }).waitFor();

  // A server validation error appears next to its field.
  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await page.getByLabel('Identity Provider Name').fill('bad-jwks');
  await page.getByLabel('Use IDP JWKS endpoint').check();
  await page.getByLabel('Identity Provider JWKS Endpoint').fill('http://example.com/jwks');
  await page.getByRole('button', { name: 'Register' }).click();
  const fieldErr = page.locator('[data-path="certificate.jwksUri"] .field-error');
  await fieldErr.waitFor({ state: 'visible' });
  check((await fieldErr.textContent()).includes('jwksUri'), `server error shown at the JWKS endpoint field: ${await fieldErr.textContent()}`);

  // Add a service provider with jwt-bearer; read the client key and secret.
  await page.getByRole('link', { name: 'Service Providers' }).click();
  await page.getByRole('link', { name: 'Add service provider' }).click();
  await page.getByLabel('Service Provider Name').fill('console-app');
  await page.getByLabel('Description').fill('registered through the console');
  check(await page.getByLabel(/JWT bearer/).isChecked(), 'jwt-bearer is pre-selected');
  await page.getByLabel('Refresh token', { exact: true }).check();
  await page.getByLabel('Enable Audience Restriction').check();
  await page.getByLabel('Audience (one per line)').fill('https://api.example');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { name: /Service Provider registered/ }).waitFor();
  result.clientId = await page.getByTestId('client-id').inputValue();
  result.clientSecret = await page.getByTestId('client-secret').inputValue();
  check(/^[A-Za-z0-9_-]{28,64}$/.test(result.clientId) && result.clientSecret.length >= 32, 'client key and secret shown');
  check(await page.getByText('will not be shown again').isVisible(), 'the secret comes with a warning');
  const curl = await page.getByTestId('curl').textContent();
  check(curl.includes(`-u "${result.clientId}:${result.clientSecret}"`) && curl.includes(`${base}/oauth2/token`), 'curl command for this application');

  // Regenerate the secret: the new one is shown once, the old one is what
  // the test later proves refused.
  await page.getByRole('link', { name: 'Done: open the service provider' }).click();
  await page.getByRole('heading', { name: 'Service Provider: console-app' }).waitFor();
  check(await page.getByTestId('client-secret').count() === 0, 'the secret is not shown again');
  await page.getByRole('button', { name: 'Regenerate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Regenerate' }).click();
  await page.getByTestId('client-secret').waitFor();
  result.oldSecret = result.clientSecret;
  result.clientSecret = await page.getByTestId('client-secret').inputValue();
  check(result.clientSecret !== result.oldSecret, 'regenerated secret shown');

  // WSO2's two-step flow: an application registered with a name only (by
  // the test, through the API) gets its OAuth client from the console.
  await page.getByRole('link', { name: 'Service Providers' }).click();
  const twoStep = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'two-step-app' }) });
  await twoStep.getByText('OAuth not configured').waitFor();
  await twoStep.getByRole('link', { name: 'two-step-app' }).click();
  await page.getByRole('button', { name: 'Configure' }).click();
  await page.getByRole('heading', { name: 'Service Provider configured: two-step-app' }).waitFor();
  check((await page.getByTestId('client-secret').inputValue()).length >= 32, 'the first OAuth configuration shows the new client key and secret');

  // The Assertion Tester: an expired assertion fails the exp check.
  await page.getByRole('link', { name: 'Assertion Tester' }).click();
  await page.getByLabel('Assertion (JWT)').fill(env('EXPIRED_JWT'));
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByTestId('verdict').waitFor();
  const checks = await page.locator('[data-testid="checks"] li').evaluateAll((ls) => ls.map((l) => [l.dataset.check, l.dataset.result, l.textContent]));
  result.checks = checks;
  const times = checks.find(([, r, t]) => r === 'fail');
  check(times && /exp/.test(times[2]), `the failing check names exp: ${times && times[2]}`);
  check(await page.getByTestId('claims').getByText('exp').isVisible(), 'decoded claims shown');

  // Injection: an IdP named like markup shows those characters.
  const evil = '<img src=x onerror=alert(1)>';
  await page.getByRole('link', { name: 'Identity Providers' }).click();
  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await page.getByLabel('Identity Provider Name').fill(evil);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { name: 'Identity Providers', level: 1 }).waitFor();
  await page.getByRole('link', { name: evil, exact: true }).waitFor();
  check(await page.locator('img[src="x"]').count() === 0, 'the injected markup is text, not an element');
  await page.getByRole('link', { name: evil, exact: true }).click();
  await page.getByRole('heading', { name: `Identity Provider: ${evil}` }).waitFor();
  check(await page.locator('img[src="x"]').count() === 0, 'also on the edit page');

  // A state-changing call without the CSRF token changes nothing (403).
  const noCsrf = await page.evaluate(async () => {
    const r = await fetch('/api/server/v1/identity-providers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'no-csrf' }) });
    return r.status;
  });
  check(noCsrf === 403, `POST without X-CSRF-Token: ${noCsrf}`);

  // A cross-site form POST: the SameSite=Strict cookie is not sent.
  const evilOrigin = 'https://cross-site.example';
  await page.route(`${evilOrigin}/**`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<form id=f method=POST enctype=text/plain action="${base}/api/server/v1/identity-providers"><input name='{"name":"csrf-victim","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`,
  }));
  const crossResp = page.waitForResponse((r) => r.url() === `${base}/api/server/v1/identity-providers` && r.request().method() === 'POST');
  await page.goto(`${evilOrigin}/attack.html`);
  const cr = await crossResp;
  result.crossSiteStatus = cr.status();
  check(cr.status() === 401, `cross-site POST arrives without the session: ${cr.status()}`);

  // Nothing was created by the refused calls; the console still works.
  await page.goto(`${base}/console/#/idps`);
  await page.getByRole('link', { name: idpName, exact: true }).waitFor();
  check(await page.getByRole('link', { name: 'csrf-victim' }).count() === 0 && await page.getByRole('link', { name: 'no-csrf' }).count() === 0, 'refused calls created nothing');

  // Disable, then delete with confirmation.
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: evil, exact: true }) });
  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByText('Disabled').waitFor();
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('link', { name: evil, exact: true }).waitFor({ state: 'detached' });
  check(true, 'disable and delete with confirmation');

  // Tenants: add one with an owner, switch to it, and its owner logs in
  // to its own console.
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Domain').fill('Not a domain!');
  await page.getByLabel('Owner password').fill('Acme-owner-passw0rd');
  await page.getByRole('button', { name: 'Add tenant' }).click();
  const domErr = page.locator('[data-path="domain"] .field-error');
  await domErr.waitFor({ state: 'visible' });
  check(/DNS-like/.test(await domErr.textContent()), 'a refused domain is reported at the Domain field');
  await page.getByLabel('Domain').fill('acme.example');
  await page.getByLabel('Owner username').fill('owner');
  await page.getByLabel('Owner password').fill('Acme-owner-passw0rd');
  await page.getByRole('button', { name: 'Add tenant' }).click();
  await page.getByRole('link', { name: 'acme.example' }).waitFor();
  await page.getByTestId('tenant-switch').selectOption('acme.example');
  await page.waitForURL(`${base}/t/acme.example/console/#/tenants`);
  await page.getByRole('link', { name: 'Identity Providers' }).click();
  await page.getByText('No identity provider yet').waitFor();
  check(await page.getByTestId('tenant-switch').inputValue() === 'acme.example', 'the super admin switched to tenant acme.example');
  const owner = await newPage(browser);
  await login(owner.page, base, 'owner@acme.example', 'Acme-owner-passw0rd');
  await owner.page.waitForURL(`${base}/t/acme.example/console/**`);
  check(await owner.page.getByTestId('tenant').textContent() === 'Tenant: acme.example' && await owner.page.getByRole('link', { name: 'Tenants' }).count() === 0,
    'the tenant owner lands in its own console, without the Tenants page');
  await owner.context.close();
  await page.goto(`${base}/console/#/idps`);

  // Narrow screen: the IdP list and the login still work at 390 px.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: idpName, exact: true }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no horizontal scrolling at 390 px (${overflow})`);

  // Keyboard: Tab reaches the navigation with a visible focus ring.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', `focus is visible (${outline})`);

  // Logout ends the session on the server too.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/server/v1/session')).status);
  check(after === 401, 'after logout the session is gone');

  check(problems.length === 0, `no script errors (${problems.join('; ')})`);
} catch (e) {
  // Where it stopped, for the test's failure message.
  const pages = browser.contexts().flatMap((c) => c.pages());
  if (pages.length && process.env.FAILURE_SCREENSHOT) await pages[0].screenshot({ path: process.env.FAILURE_SCREENSHOT, fullPage: true });
  if (pages.length) console.log(`page text at failure: ${(await pages[0].locator('main').textContent().catch(() => '')).slice(0, 2000)}`);
  throw e;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
