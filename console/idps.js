// idps.js - Identity Providers: list with search, add / edit in the order
// of WSO2's form, enable / disable, delete.
import { api, qs, tokenEndpoint } from './api.js';
import { h, clear, field, formError, showErrors, toast, confirmDialog, pageHeader, linkButton,
  table, lines, fmtTime, nextId } from './ui.js';
import { parsePem } from './x509.js';

const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export async function list(ctx) {
  const search = h('input', { id: 'idp-search', type: 'search', placeholder: 'Name contains…', spellcheck: 'false' });
  const results = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    const q = search.value.trim().replace(/"/g, '');
    const r = await api('GET', `/identity-providers${qs({ limit: 1000, filter: q ? `name co "${q}"` : '' })}`);
    clear(results, table('Identity providers', ['Name', 'Issuer', 'Alias', 'Status', 'Actions'],
      (r.identityProviders || []).map((p) => [
        h('a', { href: `#/idps/${p.id}` }, p.name),
        p.idpIssuerName || '—',
        h('span', { class: 'mono' }, p.alias || '(token endpoint)'),
        h('span', { class: p.isEnabled ? 'badge ok' : 'badge off' }, p.isEnabled ? 'Enabled' : 'Disabled'),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', onclick: () => toggle(p, load) }, p.isEnabled ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(p, load) }, 'Delete')),
      ]), search.value ? 'No identity provider matches.' : 'No identity provider yet: add one.'));
  };
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => load().catch((e) => toast(e.description, 'error')), 250); });
  clear(ctx.main,
    pageHeader('Identity Providers', linkButton('#/idps/new', 'Add identity provider', 'button primary')),
    h('div', { class: 'search' }, h('label', { for: 'idp-search' }, 'Search'), search),
    results);
  await load();
}

async function toggle(p, reload) {
  try {
    await api('PATCH', `/identity-providers/${p.id}`, [{ operation: 'REPLACE', path: '/isEnabled', value: !p.isEnabled }]);
    toast(`${p.name} ${p.isEnabled ? 'disabled' : 'enabled'}.`);
    await reload();
  } catch (e) { toast(e.description, 'error'); }
}

async function remove(p, reload) {
  if (!(await confirmDialog('Delete identity provider', `Delete "${p.name}"? Assertions it signed are refused from now on. This cannot be undone.`))) return;
  try {
    await api('DELETE', `/identity-providers/${p.id}`);
    toast(`${p.name} deleted.`);
    await reload();
  } catch (e) { toast(e.description, 'error'); }
}

function certCard(info, onRemove, fromServer) {
  const notAfter = info.notAfter instanceof Date ? info.notAfter : new Date(info.notAfter);
  const expired = !Number.isNaN(notAfter.getTime()) && notAfter < new Date();
  return h('div', { class: 'cert', 'data-testid': 'cert' },
    h('dl', {},
      h('dt', {}, 'Subject'), h('dd', { 'data-testid': 'cert-subject' }, info.subject || '(bare public key)'),
      info.issuer ? [h('dt', {}, 'Issuer'), h('dd', {}, info.issuer)] : null,
      h('dt', {}, 'Valid'), h('dd', {}, `${fmtTime(info.notBefore)} → ${fmtTime(info.notAfter)}`,
        expired ? h('span', { class: 'badge off' }, ' expired') : null),
      h('dt', {}, 'SHA-256 thumbprint'), h('dd', { class: 'mono', 'data-testid': 'cert-thumbprint' }, info.sha256Thumbprint || '—'),
      info.keyType ? [h('dt', {}, 'Key'), h('dd', {}, `${info.keyType}${info.keySize ? ` ${info.keySize} bits` : ''}`)] : null),
    fromServer ? h('p', { class: 'help' }, 'Stored') : h('p', { class: 'help' }, 'Not saved yet'),
    h('button', { type: 'button', class: 'danger', onclick: onRemove }, 'Remove'));
}

export async function edit(ctx, id) {
  const doc = id ? await api('GET', `/identity-providers/${id}`) : {};
  const cert = doc.certificate || {};
  const g = doc.jwtGrant || {};
  const initialType = cert.jwks ? 'jwks' : (cert.certificates && cert.certificates.length) || !cert.jwksUri ? 'upload' : 'uri';

  const name = field({ label: 'Identity Provider Name', path: 'name', required: true, value: doc.name,
    help: 'Assertions whose iss equals this name are matched to this IdP (unless an issuer name is set).' });
  const desc = field({ label: 'Description', path: 'description', value: doc.description });
  const issuer = field({ label: "Identity Provider's Issuer Name", path: 'idpIssuerName', value: doc.idpIssuerName,
    help: "The assertions' iss claim, when it differs from the name (e.g. https://idp.example)." });

  // Choose IDP certificate type
  const radios = [['uri', 'Use IDP JWKS endpoint'], ['upload', 'Upload IDP certificate'], ['jwks', 'Inline JWKS']];
  const group = nextId('ct');
  const radioEls = radios.map(([v, l]) => {
    const rid = `${group}-${v}`;
    const r = h('input', { type: 'radio', name: group, id: rid, value: v, checked: v === initialType });
    return h('label', { for: rid, class: 'check' }, r, ' ', l);
  });
  const typeSet = h('fieldset', { class: 'field radios', 'data-path': 'certificate' },
    h('legend', {}, 'Choose IDP certificate type'), radioEls, h('p', { class: 'field-error', hidden: true }));

  const uri = field({ label: 'Identity Provider JWKS Endpoint', path: 'certificate.jwksUri', value: cert.jwksUri,
    placeholder: 'https://idp.example/.well-known/jwks.json', help: 'Fetched over HTTPS and cached; refetched when an unknown kid shows up.' });
  // Certificates: the stored ones (PEM strings) and the ones picked now.
  const certs = (cert.certificates || []).map((pem, i) => ({ pem, info: (cert.certificateInfo || [])[i] || {}, stored: true }));
  const certList = h('div', { class: 'cert-list', 'aria-live': 'polite' });
  const renderCerts = () => clear(certList, certs.length ? certs.map((c, i) => certCard(c.info, () => { certs.splice(i, 1); renderCerts(); }, c.stored))
    : h('p', { class: 'help' }, 'No certificate yet.'));
  const file = field({ label: 'IDP certificate (PEM file)', path: 'certificate.certificates', kind: 'file',
    accept: '.pem,.crt,.cer,.txt,application/x-pem-file', help: 'A PEM file with one or more certificates. Its subject, validity and thumbprint are shown here before you save.' });
  file.input.addEventListener('change', async () => {
    const errEl = file.querySelector('.field-error');
    errEl.hidden = true;
    for (const f of file.input.files) {
      try {
        if (f.size > 256 * 1024) throw new Error('larger than 256 KiB: not a certificate file');
        for (const c of await parsePem(await f.text())) certs.push(c);
      } catch (e) {
        errEl.textContent = `${f.name}: ${e.message}`;
        errEl.hidden = false;
      }
    }
    file.input.value = '';
    renderCerts();
  });
  renderCerts();
  const jwks = field({ label: 'JWKS (JSON)', path: 'certificate.jwks', kind: 'textarea', rows: 8,
    value: cert.jwks ? JSON.stringify(cert.jwks, null, 2) : '', placeholder: '{"keys": [ ... ]}' });

  const uriBox = h('div', {}, uri);
  const uploadBox = h('div', {}, file, certList);
  const jwksBox = h('div', {}, jwks);
  const showType = () => {
    const v = typeSet.querySelector('input:checked').value;
    uriBox.hidden = v !== 'uri';
    uploadBox.hidden = v !== 'upload';
    jwksBox.hidden = v !== 'jwks';
  };
  typeSet.addEventListener('change', showType);
  showType();

  const alias = field({ label: 'Alias', path: 'alias', value: id ? doc.alias : tokenEndpoint,
    help: `The audience (aud) the assertions must carry. This tenant's token endpoint is ${tokenEndpoint}.` });

  // Advanced: jwtGrant
  const algIds = nextId('alg');
  const allowed = new Set(g.allowedAlgorithms && g.allowedAlgorithms.length ? g.allowedAlgorithms : ALGS);
  const algBoxes = ALGS.map((a) => h('label', { class: 'check', for: `${algIds}-${a}` },
    h('input', { type: 'checkbox', id: `${algIds}-${a}`, value: a, checked: allowed.has(a) }), ` ${a}`));
  const algSet = h('fieldset', { class: 'field checks', 'data-path': 'jwtGrant.allowedAlgorithms' },
    h('legend', {}, 'Allowed algorithms'), algBoxes, h('p', { class: 'field-error', hidden: true }));
  const auds = field({ label: 'Additional audiences (one per line)', path: 'jwtGrant.additionalAudiences', kind: 'textarea', rows: 2, value: (g.additionalAudiences || []).join('\n') });
  const subs = field({ label: 'Allowed subjects (one per line; empty: any)', path: 'jwtGrant.allowedSubjects', kind: 'textarea', rows: 2, value: (g.allowedSubjects || []).join('\n') });
  const scopes = field({ label: 'Allowed scopes (one per line; empty: any)', path: 'jwtGrant.allowedScopes', kind: 'textarea', rows: 2, value: (g.allowedScopes || []).join('\n') });
  const jti = field({ label: 'Require jti (single-use assertions)', path: 'jwtGrant.requireJti', kind: 'checkbox', value: g.requireJti });
  const iat = field({ label: 'Require iat', path: 'jwtGrant.requireIat', kind: 'checkbox', value: g.requireIat });
  const life = field({ label: 'Max assertion lifetime (seconds, 0: the server default)', path: 'jwtGrant.maxAssertionLifetimeSeconds', kind: 'number', min: 0, value: g.maxAssertionLifetimeSeconds ?? 0 });
  const skew = field({ label: 'Clock skew (seconds, empty: the server default)', path: 'jwtGrant.clockSkewSeconds', kind: 'number', min: 0, value: g.clockSkewSeconds ?? '' });
  const exp = field({ label: 'Trust expires at (UTC, e.g. 2027-12-31T00:00:00Z; empty: never)', path: 'jwtGrant.expiresAt', value: g.expiresAt ?? '' });
  const advanced = h('details', { class: 'advanced' }, h('summary', {}, 'Advanced: JWT grant options'),
    algSet, auds, subs, scopes, jti, iat, life, skew, exp);
  const enabled = field({ label: 'Enabled', path: 'isEnabled', kind: 'checkbox', value: id ? doc.isEnabled !== false : true });

  const err = formError();
  const submit = h('button', { type: 'submit', class: 'primary' }, id ? 'Update' : 'Register');
  const form = h('form', { class: 'card form', novalidate: true },
    err, name, desc, issuer, typeSet, uriBox, uploadBox, jwksBox, alias, advanced, enabled,
    h('div', { class: 'actions' }, submit, linkButton('#/idps', 'Cancel')));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { ...doc };
    delete body.id;
    delete body.self;
    body.name = name.input.value.trim();
    body.description = desc.input.value;
    const iss = issuer.input.value.trim();
    if (iss) body.idpIssuerName = iss; else delete body.idpIssuerName;
    const al = alias.input.value.trim();
    if (al) body.alias = al; else delete body.alias;
    body.isEnabled = enabled.input.checked;
    const type = typeSet.querySelector('input:checked').value;
    if (type === 'uri') body.certificate = uri.input.value.trim() ? { jwksUri: uri.input.value.trim() } : {};
    else if (type === 'upload') body.certificate = certs.length ? { certificates: certs.map((c) => c.pem) } : {};
    else {
      try { body.certificate = { jwks: JSON.parse(jwks.input.value) }; } catch (e) {
        showErrors(form, { description: `certificate.jwks: not JSON (${e.message})` });
        return;
      }
    }
    const grant = { ...(doc.jwtGrant || {}) };
    const algs = algBoxes.map((l) => l.querySelector('input')).filter((x) => x.checked).map((x) => x.value);
    grant.allowedAlgorithms = algs;
    grant.additionalAudiences = lines(auds.input.value);
    grant.allowedSubjects = lines(subs.input.value);
    grant.allowedScopes = lines(scopes.input.value);
    grant.requireJti = jti.input.checked;
    grant.requireIat = iat.input.checked;
    grant.maxAssertionLifetimeSeconds = life.input.value === '' ? 0 : Number(life.input.value);
    grant.clockSkewSeconds = skew.input.value === '' ? null : Number(skew.input.value);
    grant.expiresAt = exp.input.value.trim() || null;
    body.jwtGrant = grant;
    submit.disabled = true;
    try {
      const saved = id ? await api('PUT', `/identity-providers/${id}`, body) : await api('POST', '/identity-providers', body);
      toast(`Identity provider ${saved.name} ${id ? 'updated' : 'registered'}.`);
      ctx.navigate('#/idps');
    } catch (e) {
      showErrors(form, e);
    } finally {
      submit.disabled = false;
    }
  });
  clear(ctx.main, pageHeader(id ? `Identity Provider: ${doc.name}` : 'Add Identity Provider'), form);
  if (!id) name.input.focus();
}
