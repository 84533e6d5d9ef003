// tenants.js - Tenants (super admin): list, add with an owner,
// activate / deactivate.
import { api, consoleUrl } from './api.js';
import { h, clear, field, formError, showErrors, toast, confirmDialog, pageHeader, table, fmtTime } from './ui.js';

export async function list(ctx) {
  const r = await api('GET', '/tenants?limit=1000', undefined, { root: true });
  const domain = field({ label: 'Domain', path: 'domain', required: true, placeholder: 'acme.example', help: 'Lower-case DNS-like name; the tenant lives under /t/<domain>/.' });
  const user = field({ label: 'Owner username', path: 'owners owners[0].username', required: true, value: 'admin', autocomplete: 'off' });
  const pass = field({ label: 'Owner password', path: 'owners[0].password', kind: 'password', required: true, autocomplete: 'new-password', help: 'The owner logs in as <username>@<domain>.' });
  const err = formError();
  const form = h('form', { class: 'card form', novalidate: true }, h('h2', {}, 'Add tenant'), err, domain, user, pass,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add tenant')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await api('POST', '/tenants', { domain: domain.input.value.trim(), owners: [{ username: user.input.value.trim(), password: pass.input.value }] }, { root: true });
      pass.input.value = '';
      toast(`Tenant ${t.domain} added.`);
      await list(ctx);
      await ctx.tenantsChanged();
    } catch (e) {
      showErrors(form, e.status === 409 ? { description: `domain: ${e.description}` } : e);
    }
  });
  clear(ctx.main, pageHeader('Tenants'),
    table('Tenants', ['Domain', 'Owners', 'Status', 'Created', 'Actions'], (r.tenants || []).map((t) => [
      h('a', { href: consoleUrl(t.domain, ctx.superDomain, '#/idps') }, t.domain),
      (t.owners || []).map((o) => o.username).join(', '),
      h('span', { class: t.isActive ? 'badge ok' : 'badge off' }, t.isActive ? 'Active' : 'Inactive'),
      fmtTime(t.createdAt),
      t.domain === ctx.superDomain ? '—' : h('button', { type: 'button', class: t.isActive ? 'danger' : '', onclick: () => toggle(ctx, t) }, t.isActive ? 'Deactivate' : 'Activate'),
    ])),
    form);
}

async function toggle(ctx, t) {
  if (t.isActive && !(await confirmDialog('Deactivate tenant', `Deactivate ${t.domain}? Its token endpoint and its admins are refused until it is activated again.`, 'Deactivate'))) return;
  try {
    await api('PATCH', `/tenants/${t.id}`, { isActive: !t.isActive }, { root: true });
    toast(`${t.domain} ${t.isActive ? 'deactivated' : 'activated'}.`);
    await list(ctx);
    await ctx.tenantsChanged();
  } catch (e) { toast(e.description, 'error'); }
}
