// app.js - the console's shell: login, the session, the tenant switcher,
// navigation and the hash router (docs/console.md).
import { api, consoleUrl, setCsrf, setUnauthorizedHandler, urlTenant, ApiError } from './api.js';
import { h, clear, field, formError, showErrors, toast } from './ui.js';
import * as idps from './idps.js';
import * as apps from './apps.js';
import * as tenants from './tenants.js';
import * as tester from './tester.js';
import * as audit from './audit.js';

const root = document.getElementById('app');
let session = null;

const NAV = [
  ['#/idps', 'Identity Providers'],
  ['#/apps', 'Service Providers'],
  ['#/tenants', 'Tenants', (s) => s.superAdmin],
  ['#/tester', 'Assertion Tester'],
  ['#/audit', 'Audit'],
];

const ROUTES = [
  [/^#\/idps$/, idps.list],
  [/^#\/idps\/new$/, (ctx) => idps.edit(ctx, null)],
  [/^#\/idps\/([0-9a-f-]{36})$/, (ctx, id) => idps.edit(ctx, id)],
  [/^#\/apps$/, apps.list],
  [/^#\/apps\/new$/, apps.create],
  [/^#\/apps\/([0-9a-f-]{36})$/, (ctx, id) => apps.edit(ctx, id)],
  [/^#\/tenants$/, tenants.list],
  [/^#\/tester$/, tester.page],
  [/^#\/audit$/, audit.page],
];

/** The tenant this console page acts in. */
function currentTenant() {
  return urlTenant || (session && session.superAdmin ? session.tenant : null) || 'carbon.super';
}

function superDomain() {
  return session && session.superAdmin ? session.tenant : null;
}

async function start() {
  setUnauthorizedHandler(() => {
    session = null;
    setCsrf(null);
    loginPage('Your session has ended. Log in again.');
  });
  try {
    session = await api('GET', '/session', undefined, { root: true, quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { loginPage(); return; }
    clear(root, h('p', { class: 'form-error', role: 'alert' }, e.description || String(e)));
    return;
  }
  entered();
}

function entered() {
  setCsrf(session.csrfToken);
  // A tenant admin works in its own tenant's console.
  if (!session.superAdmin && urlTenant !== session.tenant) {
    location.replace(consoleUrl(session.tenant, null, location.hash));
    return;
  }
  shell();
}

function loginPage(notice) {
  const user = field({ label: 'Username', path: 'username', required: true, autocomplete: 'username',
    help: 'admin, or user@tenant for a tenant administrator' });
  const pass = field({ label: 'Password', path: 'password', kind: 'password', required: true, autocomplete: 'current-password' });
  const err = formError();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'login card', novalidate: true }, err, user, pass, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      session = await api('POST', '/session', { username: user.input.value, password: pass.input.value }, { root: true, quiet401: true });
      pass.input.value = '';
      entered();
    } catch (e) {
      pass.input.value = '';
      showErrors(form, e.status === 401 ? { description: 'Wrong username or password.' } : e);
    } finally {
      submit.disabled = false;
    }
  });
  clear(root, h('main', { id: 'main', class: 'login-page' },
    h('h1', {}, 'grantd Management Console'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    form));
  user.input.focus();
}

async function logout() {
  try { await api('DELETE', '/session', undefined, { root: true, quiet401: true }); } catch { /* ended anyway */ }
  session = null;
  setCsrf(null);
  location.hash = '';
  loginPage('You have logged out.');
}

async function tenantSwitcher() {
  const tenant = currentTenant();
  if (!session.superAdmin) return h('span', { class: 'tenant', 'data-testid': 'tenant' }, `Tenant: ${tenant}`);
  const id = 'tenant-switch';
  const sel = h('select', { id, 'data-testid': 'tenant-switch' }, h('option', { value: session.tenant }, session.tenant));
  try {
    const r = await api('GET', '/tenants?limit=1000', undefined, { root: true });
    for (const t of r.tenants || []) if (t.domain !== session.tenant) sel.append(h('option', { value: t.domain }, t.domain));
  } catch { /* the list is a convenience */ }
  sel.value = tenant;
  sel.addEventListener('change', () => { location.href = consoleUrl(sel.value, superDomain(), location.hash); });
  return h('span', { class: 'tenant' }, h('label', { for: id }, 'Tenant '), sel);
}

async function shell() {
  const nav = h('nav', { 'aria-label': 'Main' }, h('ul', {},
    NAV.filter(([, , when]) => !when || when(session)).map(([href, text]) => h('li', {}, h('a', { href }, text)))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  let switcher = await tenantSwitcher();
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/idps' }, h('img', { src: 'favicon.svg', alt: '', width: 24, height: 24 }), ' grantd'),
    switcher,
    h('span', { class: 'user', 'data-testid': 'user' }, session.username),
    h('button', { type: 'button', class: 'logout', onclick: logout }, 'Log out'));
  // After a tenant is added or (de)activated, the switcher lists it.
  const tenantsChanged = async () => {
    const fresh = await tenantSwitcher();
    switcher.replaceWith(fresh);
    switcher = fresh;
  };
  clear(root, header, h('div', { class: 'layout' }, nav, main));
  window.onhashchange = () => route(main, nav, tenantsChanged);
  route(main, nav, tenantsChanged);
}

async function route(main, nav, tenantsChanged) {
  if (!session) return;
  const hash = location.hash || '#/idps';
  for (const a of nav.querySelectorAll('a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx = { main, session, tenant: currentTenant(), superDomain: superDomain(), tenantsChanged,
    navigate: (x) => { location.hash = x; } };
  for (const [re, fn] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      clear(main, h('p', { class: 'loading' }, 'Loading…'));
      try {
        await fn(ctx, ...m.slice(1));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        clear(main, h('p', { class: 'form-error', role: 'alert' }, e.description || String(e)));
      }
      const h1 = main.querySelector('h1');
      if (h1 && document.activeElement === document.body) h1.focus();
      return;
    }
  }
  location.hash = '#/idps';
}

window.addEventListener('unhandledrejection', (ev) => toast(String(ev.reason && ev.reason.message || ev.reason), 'error'));
start();
