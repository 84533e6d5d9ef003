// lib.mjs - what the console's browser scripts share: launching Debian's
// Chromium through playwright-core (no browser download), trusting exactly
// the test server's certificate, and logging in.
import { chromium } from 'playwright-core';

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (tests/e2e/test_console.py sets it)`);
  return v;
}

/**
 * Chromium at /usr/bin/chromium, headless. The server's certificate is
 * trusted by its SPKI pin (GRANTD_SPKI: base64 SHA-256 of the public key),
 * not by ignoring certificate errors.
 */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${env('GRANTD_SPKI')}`],
  });
}

export async function newPage(browser, width = 1280, height = 900) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Refused API calls (the first GET /session before login, the errors
    // the flows provoke) are logged by Chromium as failed loads: not faults.
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('dialog', (d) => { problems.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
  return { context, page, problems };
}

export async function login(page, base, user, password) {
  await page.goto(`${base}/console/`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Identity Providers', level: 1 }).waitFor();
}

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}
