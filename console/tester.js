// tester.js - the Assertion Tester over the dry run
// (POST /jwt-grant/validate): the decoded header and claims, and every
// check with pass / fail and its reason. Issues nothing, records no jti.
import { api } from './api.js';
import { h, clear, clearErrors, field, formError, showErrors, pageHeader, fmtTime } from './ui.js';

const TIME_CLAIMS = new Set(['exp', 'nbf', 'iat']);

function claimsTable(title, obj, testid) {
  if (!obj) return null;
  return h('section', { class: 'card' }, h('h2', {}, title),
    h('dl', { class: 'claims', 'data-testid': testid },
      Object.entries(obj).map(([k, v]) => [h('dt', {}, k),
        h('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v),
          TIME_CLAIMS.has(k) && typeof v === 'number' ? h('span', { class: 'help' }, `  (${fmtTime(v)})`) : null)])));
}

export async function page(ctx) {
  let apps = [];
  try { apps = (await api('GET', '/applications?limit=1000')).applications || []; } catch { /* optional */ }
  const jwt = field({ label: 'Assertion (JWT)', path: 'assertion', kind: 'textarea', rows: 6, required: true, placeholder: 'eyJhbGciOi…' });
  const app = field({ label: 'Application (optional)', path: 'clientId', kind: 'select',
    options: [['', '— none: check the assertion only —'], ...apps.filter((a) => a.clientId).map((a) => [a.clientId, `${a.name} (${a.clientId})`])] });
  const scope = field({ label: 'Requested scope (optional)', path: 'scope' });
  const err = formError();
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card form', novalidate: true }, err, jwt, app, scope,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Validate')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { assertion: jwt.input.value.trim() };
    if (app.input.value) body.clientId = app.input.value;
    if (scope.input.value.trim()) body.scope = scope.input.value.trim();
    try {
      const r = await api('POST', '/jwt-grant/validate', body);
      clearErrors(form);
      render(out, r);
      out.querySelector('h2').focus();
      out.scrollIntoView({ block: 'start' });
    } catch (e) {
      clear(out);
      showErrors(form, e);
    }
  });
  clear(ctx.main, pageHeader('Assertion Tester'),
    h('p', {}, 'A dry run of the JWT bearer grant: every check in order, with its reason. Nothing is issued and no jti is recorded.'),
    form, out);
}

function render(out, r) {
  clear(out,
    h('section', { class: `card verdict ${r.valid ? 'ok' : 'bad'}`, 'data-testid': 'verdict' },
      h('h2', { tabindex: '-1' }, r.valid ? 'Valid: the token endpoint would issue a token' : `Refused: ${r.error}`),
      r.errorDescription ? h('p', {}, r.errorDescription) : null,
      h('p', { class: 'help' }, `Token endpoint: ${r.tokenEndpoint}`,
        r.identityProvider ? `; identity provider: ${r.identityProvider.name}` : '',
        r.client ? `; client: ${r.client.name}` : '')),
    h('section', { class: 'card' }, h('h2', {}, 'Checks'),
      h('ol', { class: 'checks-list', 'data-testid': 'checks' }, (r.checks || []).map((c) => h('li', { class: `check-${c.result}`, 'data-check': c.name, 'data-result': c.result },
        h('span', { class: `badge ${c.result === 'pass' ? 'ok' : c.result === 'fail' ? 'off' : 'idle'}` }, c.result === 'not_run' ? 'not run' : c.result),
        ' ', h('strong', {}, c.name), c.detail ? h('span', { class: 'detail' }, ` — ${c.detail}`) : null)))),
    claimsTable('Header', r.header, 'header'),
    claimsTable('Claims', r.claims, 'claims'));
}
