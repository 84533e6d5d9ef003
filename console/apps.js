// apps.js - Service Providers: list, add (name and description, then the
// OAuth/OpenID Connect configuration), the client key and secret shown once,
// edit, regenerate secret, delete, and the curl command of the token request.
import { api, tokenEndpoint } from './api.js';
import { h, clear, field, formError, showErrors, toast, confirmDialog, pageHeader, linkButton,
  table, lines, secretBox, copyButton, nextId } from './ui.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GRANTS = [[JWT_BEARER, 'JWT bearer (urn:ietf:params:oauth:grant-type:jwt-bearer)'],
  ['refresh_token', 'Refresh token'], ['client_credentials', 'Client credentials']];
const AUTH = [['client_secret_basic', 'Client secret, HTTP Basic (client_secret_basic)'],
  ['client_secret_post', 'Client secret in the form (client_secret_post)'],
  ['private_key_jwt', 'Signed client assertion (private_key_jwt)'], ['none', 'None: public client (none)']];
const OIDC = 'inboundProtocolConfiguration.oidc.';

export async function list(ctx) {
  const r = await api('GET', '/applications?limit=1000');
  clear(ctx.main,
    pageHeader('Service Providers', linkButton('#/apps/new', 'Add service provider', 'button primary')),
    table('Service providers', ['Name', 'Description', 'OAuth Client Key', 'Actions'],
      (r.applications || []).map((a) => [
        h('a', { href: `#/apps/${a.id}` }, a.name), a.description || '—',
        a.clientId ? h('span', { class: 'mono' }, a.clientId) : h('span', { class: 'badge idle' }, 'OAuth not configured'),
        h('div', { class: 'row-actions' },
          linkButton(`#/apps/${a.id}`, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(ctx, a, () => list(ctx)) }, 'Delete')),
      ]), 'No service provider yet: add one.'));
}

async function remove(ctx, a, after) {
  if (!(await confirmDialog('Delete service provider', `Delete "${a.name}"? Its client stops working and its tokens are revoked. This cannot be undone.`))) return;
  try {
    await api('DELETE', `/applications/${a.id}`);
    toast(`${a.name} deleted.`);
    await after();
  } catch (e) { toast(e.description, 'error'); }
}

/** The OAuth/OpenID Connect configuration fields; read() gives the oidc object. */
function oidcFields(o, creating) {
  const at = o.accessToken || {};
  const rt = o.refreshToken || {};
  const ca = o.clientAuthentication || {};
  const aud = (o.idToken && o.idToken.audience) || [];
  const gid = nextId('g');
  const grants = new Set(o.grantTypes || [JWT_BEARER]);
  const boxes = GRANTS.map(([v, l], i) => h('label', { class: 'check', for: `${gid}-${i}` },
    h('input', { type: 'checkbox', id: `${gid}-${i}`, value: v, checked: grants.has(v) }), ` ${l}`));
  const grantSet = h('fieldset', { class: 'field checks', 'data-path': 'grantTypes' }, h('legend', {}, 'Allowed Grant Types'),
    boxes, h('p', { class: 'field-error', hidden: true }));
  const cb = field({ label: 'Callback Url (one per line; optional for these grants)', path: 'callbackURLs', kind: 'textarea', rows: 2,
    value: (o.callbackURLs || []).join('\n'), placeholder: 'https://app.example/callback' });
  const audOn = field({ label: 'Enable Audience Restriction', path: 'idToken', kind: 'checkbox', value: aud.length > 0 });
  const auds = field({ label: 'Audience (one per line)', path: 'idToken.audience', kind: 'textarea', rows: 2, value: aud.join('\n'),
    help: "The aud of JWT access tokens and what introspection reports (default: the client id)." });
  const showAud = () => { auds.hidden = !audOn.input.checked; };
  audOn.input.addEventListener('change', showAud);
  showAud();
  const type = field({ label: 'Token type', path: 'accessToken.type', kind: 'select', options: [['Default', 'Default (opaque)'], ['JWT', 'JWT (RFC 9068)']], value: at.type || 'Default' });
  const userExp = field({ label: 'User access token expiry time (seconds)', path: 'accessToken.userAccessTokenExpiryInSeconds', kind: 'number', min: 1, value: at.userAccessTokenExpiryInSeconds ?? 3600 });
  const appExp = field({ label: 'Application access token expiry time (seconds)', path: 'accessToken.applicationAccessTokenExpiryInSeconds', kind: 'number', min: 1, value: at.applicationAccessTokenExpiryInSeconds ?? 3600 });
  const rtExp = field({ label: 'Refresh token expiry time (seconds)', path: 'refreshToken.expiryInSeconds', kind: 'number', min: 1, value: rt.expiryInSeconds ?? 86400 });
  const renew = field({ label: 'Renew refresh token on use', path: 'refreshToken.renewRefreshToken', kind: 'checkbox', value: rt.renewRefreshToken !== false });
  const method = field({ label: 'Client authentication method', path: 'clientAuthentication.tokenEndpointAuthMethod', kind: 'select', options: AUTH, value: ca.tokenEndpointAuthMethod || 'client_secret_basic' });
  const pub = creating ? field({ label: 'Public client (no secret; client_id only)', path: 'publicClient', kind: 'checkbox', value: o.publicClient }) : null;
  const keyUri = field({ label: 'Client JWKS endpoint (private_key_jwt)', path: 'clientAuthentication.jwksUri', value: ca.jwksUri || '', placeholder: 'https://app.example/jwks.json' });
  const keyJwks = field({ label: 'Client JWKS (JSON; instead of an endpoint)', path: 'clientAuthentication.jwks', kind: 'textarea', rows: 4, value: ca.jwks ? JSON.stringify(ca.jwks, null, 2) : '' });
  const keys = h('div', {}, keyUri, keyJwks);
  const showKeys = () => { keys.hidden = method.input.value !== 'private_key_jwt'; };
  method.input.addEventListener('change', () => {
    showKeys();
    if (pub && method.input.value === 'none') pub.input.checked = true;
  });
  showKeys();
  const node = h('fieldset', { class: 'section' }, h('legend', {}, 'OAuth/OpenID Connect Configuration'),
    grantSet, cb, audOn, auds, type, userExp, appExp, rtExp, renew, method, pub, keys);
  const read = () => {
    const out = { ...o };
    delete out.clientSecret;
    out.grantTypes = boxes.map((l) => l.querySelector('input')).filter((x) => x.checked).map((x) => x.value);
    out.callbackURLs = lines(cb.input.value);
    out.idToken = { ...(o.idToken || {}), audience: audOn.input.checked ? lines(auds.input.value) : [] };
    out.accessToken = { ...at, type: type.input.value, userAccessTokenExpiryInSeconds: Number(userExp.input.value),
      applicationAccessTokenExpiryInSeconds: Number(appExp.input.value) };
    out.refreshToken = { ...rt, expiryInSeconds: Number(rtExp.input.value), renewRefreshToken: renew.input.checked };
    const cauth = { tokenEndpointAuthMethod: method.input.value, jwksUri: null, jwks: null };
    if (method.input.value === 'private_key_jwt') {
      if (keyUri.input.value.trim()) cauth.jwksUri = keyUri.input.value.trim();
      if (keyJwks.input.value.trim()) cauth.jwks = JSON.parse(keyJwks.input.value);
    }
    out.clientAuthentication = cauth;
    if (pub) out.publicClient = pub.input.checked;
    return out;
  };
  return { node, read };
}

/** The seed's token request for this client. */
function curlCommand(clientId, secret) {
  return [
    `curl -i -X POST -u "${clientId}:${secret || '$CLIENT_SECRET'}" --cacert "$CA" \\`,
    `    -d "grant_type=${JWT_BEARER}&assertion=$JWT" \\`,
    "    -H 'Content-Type: application/x-www-form-urlencoded' \\",
    `    "${tokenEndpoint}"`,
  ].join('\n');
}

function curlBox(clientId, secret) {
  const text = curlCommand(clientId, secret);
  return h('section', { class: 'card' }, h('h2', {}, 'Token request'),
    h('p', {}, 'Exchange a signed assertion ($JWT) for a token; $CA is the server\'s CA certificate file.'),
    h('pre', { class: 'mono', 'data-testid': 'curl' }, text), copyButton(() => text, 'Copy command'));
}

function credentialsPanel(app, secret) {
  const o = app.inboundProtocolConfiguration.oidc;
  return h('section', { class: 'card credentials', 'aria-labelledby': 'cred-title' },
    h('h2', { id: 'cred-title', tabindex: '-1' }, 'OAuth Client Key and Client Secret'),
    secretBox('OAuth Client Key', o.clientId, 'client-id'),
    secret ? [secretBox('OAuth Client Secret', secret, 'client-secret'),
      h('p', { class: 'warning', role: 'alert' }, 'Copy the client secret now: it will not be shown again. grantd keeps only a keyed hash of it; if it is lost, regenerate it.')]
      : h('p', {}, 'This client has no secret (public client or private_key_jwt).'));
}

export async function create(ctx) {
  const name = field({ label: 'Service Provider Name', path: 'name', required: true });
  const desc = field({ label: 'Description', path: 'description' });
  const oidc = oidcFields({}, true);
  const err = formError();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Register');
  const form = h('form', { class: 'card form', novalidate: true }, err,
    h('fieldset', { class: 'section' }, h('legend', {}, 'Basic Information'), name, desc),
    oidc.node, h('div', { class: 'actions' }, submit, linkButton('#/apps', 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = { name: name.input.value.trim(), description: desc.input.value, inboundProtocolConfiguration: { oidc: oidc.read() } };
    } catch (e) {
      showErrors(form, { description: `clientAuthentication.jwks: not JSON (${e.message})` });
      return;
    }
    submit.disabled = true;
    try {
      const app = await api('POST', '/applications', body);
      const o = app.inboundProtocolConfiguration.oidc;
      clear(ctx.main, pageHeader(`Service Provider registered: ${app.name}`),
        credentialsPanel(app, o.clientSecret),
        curlBox(o.clientId, o.clientSecret),
        h('p', {}, linkButton(`#/apps/${app.id}`, 'Done: open the service provider', 'button primary')));
      ctx.main.querySelector('#cred-title').focus();
    } catch (e) {
      showErrors(form, e, OIDC);
    } finally {
      submit.disabled = false;
    }
  });
  clear(ctx.main, pageHeader('Add Service Provider'), form);
  name.input.focus();
}

/** An application registered with a name only (through the API, as in
 * WSO2's two-step flow): its first OAuth/OpenID Connect configuration
 * creates the client, and shows its key and secret once. */
function configureFirst(ctx, app) {
  const oidc = oidcFields({}, true);
  const err = formError();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Configure');
  const form = h('form', { class: 'card form', novalidate: true }, err,
    h('p', {}, 'This service provider has no OAuth client yet: configure it to get its client key and secret.'),
    oidc.node, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try { body = oidc.read(); } catch (e) {
      showErrors(form, { description: `clientAuthentication.jwks: not JSON (${e.message})` });
      return;
    }
    try {
      const r = await api('PUT', `/applications/${app.id}/inbound-protocols/oidc`, body);
      clear(ctx.main, pageHeader(`Service Provider configured: ${app.name}`),
        credentialsPanel({ inboundProtocolConfiguration: { oidc: r } }, r.clientSecret),
        curlBox(r.clientId, r.clientSecret),
        h('p', {}, linkButton(`#/apps/${app.id}`, 'Done: open the service provider', 'button primary')));
      ctx.main.querySelector('#cred-title').focus();
    } catch (e) { showErrors(form, e); }
  });
  return form;
}

export async function edit(ctx, id) {
  const app = await api('GET', `/applications/${id}`);
  const o = app.inboundProtocolConfiguration && app.inboundProtocolConfiguration.oidc;

  const name = field({ label: 'Service Provider Name', path: 'name', required: true, value: app.name });
  const desc = field({ label: 'Description', path: 'description', value: app.description || '' });
  const basicErr = formError();
  const basicSave = h('button', { type: 'submit' }, 'Update');
  const basic = h('form', { class: 'card form', novalidate: true }, basicErr,
    h('fieldset', { class: 'section' }, h('legend', {}, 'Basic Information'), name, desc), h('div', { class: 'actions' }, basicSave));
  basic.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('PATCH', `/applications/${id}`, { name: name.input.value.trim(), description: desc.input.value });
      toast('Service provider updated.');
    } catch (e) { showErrors(basic, e); }
  });

  const del = h('button', { type: 'button', class: 'danger', onclick: () => remove(ctx, app, () => ctx.navigate('#/apps')) }, 'Delete');
  if (!o) {
    clear(ctx.main, pageHeader(`Service Provider: ${app.name}`, del), basic, configureFirst(ctx, app));
    return;
  }
  const oidc = oidcFields(o, false);
  const oErr = formError();
  const oSave = h('button', { type: 'submit', class: 'primary' }, 'Update');
  const oform = h('form', { class: 'card form', novalidate: true }, oErr, oidc.node, h('div', { class: 'actions' }, oSave));
  oform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try { body = oidc.read(); } catch (e) {
      showErrors(oform, { description: `clientAuthentication.jwks: not JSON (${e.message})` });
      return;
    }
    try {
      await api('PUT', `/applications/${id}/inbound-protocols/oidc`, body);
      toast('OAuth/OpenID Connect configuration updated.');
    } catch (e) { showErrors(oform, e, OIDC); }
  });

  const secretArea = h('div', {});
  const regen = h('button', { type: 'button' }, 'Regenerate secret');
  regen.addEventListener('click', async () => {
    if (!(await confirmDialog('Regenerate client secret', 'The current secret stops working at once and the tokens issued to this client are revoked.', 'Regenerate'))) return;
    try {
      // The answer is the oidc object, with the new secret.
      const r = await api('POST', `/applications/${id}/inbound-protocols/oidc/regenerate-secret`, {});
      clear(secretArea, credentialsPanel({ inboundProtocolConfiguration: { oidc: r } }, r.clientSecret));
      secretArea.querySelector('#cred-title').focus();
    } catch (e) { toast(e.description, 'error'); }
  });

  clear(ctx.main, pageHeader(`Service Provider: ${app.name}`, regen, del),
    h('section', { class: 'card' }, h('h2', {}, 'OAuth Client Key'), secretBox('OAuth Client Key', o.clientId, 'client-id')),
    secretArea, basic, oform, curlBox(o.clientId, null));
}
