// screenshots.mjs - the pictures in README.md and docs/ (docs/images/
// console-*-1280.png and -390.png), made by hand, not by make test:
//
//   GRANTD_ADMIN_PASSWORD=... build/grantd serve &     (a fresh data dir)
//   GRANTD_BASE=https://localhost:9443 GRANTD_ADMIN=admin GRANTD_PASSWORD=... \
//   GRANTD_SPKI=$(openssl x509 -in var/tls/cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64) \
//   node tests/console/screenshots.mjs docs/images
//
// It registers demo data through the console itself (an IdP with an
// uploaded certificate, a service provider, a tenant), so run it against a
// throw-away server.
import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, newPage, login, env } from './lib.mjs';

const out = process.argv[2] || 'docs/images';
const base = env('GRANTD_BASE');
const tmp = mkdtempSync(join(tmpdir(), 'grantd-shots-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '365',
  '-subj', '/CN=jwtIDP/O=Example IdP', '-keyout', join(tmp, 'idp.key'), '-out', join(tmp, 'idp.crt')], { stdio: 'ignore' });
const b64u = (b) => Buffer.from(b).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
const body = b64u(JSON.stringify({ iss: 'jwtIDP', sub: 'alice@example.com', aud: `${base}/oauth2/token`, iat: now - 7200, exp: now - 3600, jti: 'demo-1' }));
const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(readFileSync(join(tmp, 'idp.key')));
const expired = `${head}.${body}.${b64u(sig)}`;

const browser = await launch();
const shots = [];
async function shoot(page, name, full = false) {
  await page.evaluate(() => { const t = document.getElementById('toast'); if (t) t.hidden = true; });
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 1280 ? 860 : 844 });
    await page.waitForTimeout(150); // layout settles after a resize (pictures only)
    const file = join(out, `console-${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: full || width === 390 });
    shots.push(file);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
}
try {
  const { page } = await newPage(browser);
  await page.goto(`${base}/console/`);
  await page.getByLabel('Username').waitFor();
  await shoot(page, 'login');
  await login(page, base, env('GRANTD_ADMIN'), env('GRANTD_PASSWORD'));

  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await page.getByLabel('Identity Provider Name').fill('jwtIDP');
  await page.getByLabel('Description').fill('Signs the assertions of the billing service');
  await page.getByLabel('IDP certificate (PEM file)').setInputFiles(join(tmp, 'idp.crt'));
  await page.getByTestId('cert-subject').waitFor();
  await shoot(page, 'idp-add', true);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('link', { name: 'jwtIDP', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await page.getByLabel('Identity Provider Name').fill('partner-idp');
  await page.getByLabel("Identity Provider's Issuer Name").fill('https://idp.partner.example');
  await page.getByLabel('Use IDP JWKS endpoint').check();
  await page.getByLabel('Identity Provider JWKS Endpoint').fill('https://idp.partner.example/.well-known/jwks.json');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('link', { name: 'partner-idp', exact: true }).waitFor();
  await shoot(page, 'idps');

  await page.getByRole('link', { name: 'Service Providers' }).click();
  await page.getByRole('link', { name: 'Add service provider' }).click();
  await page.getByLabel('Service Provider Name').fill('billing-app');
  await page.getByLabel('Description').fill('Exchanges jwtIDP assertions for tokens');
  await page.getByLabel('Refresh token', { exact: true }).check();
  await page.getByLabel('Enable Audience Restriction').check();
  await page.getByLabel('Audience (one per line)').fill('https://api.example');
  await shoot(page, 'app-add', true);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByTestId('client-secret').waitFor();
  await shoot(page, 'app-registered', true);

  await page.getByRole('link', { name: 'Assertion Tester' }).click();
  await page.getByLabel('Assertion (JWT)').fill(expired);
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByTestId('verdict').waitFor();
  await shoot(page, 'tester', true);

  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Domain').fill('acme.example');
  await page.getByLabel('Owner password').fill('Acme-owner-passw0rd');
  await page.getByRole('button', { name: 'Add tenant' }).click();
  await page.getByRole('link', { name: 'acme.example' }).waitFor();
  await shoot(page, 'tenants');

  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('heading', { name: 'Audit' }).waitFor();
  await shoot(page, 'audit');
} finally {
  await browser.close();
}
console.log(shots.join('\n'));
