// audit.js - the tenant's recent admin events (GET /audit-events).
import { api, qs } from './api.js';
import { h, clear, pageHeader, table, fmtTime } from './ui.js';

export async function page(ctx) {
  const r = await api('GET', `/audit-events${qs({ limit: 100 })}`);
  clear(ctx.main, pageHeader('Audit'),
    h('p', {}, `The most recent admin changes in tenant ${ctx.tenant} (${r.totalResults} in all).`),
    table('Audit events', ['Time', 'Actor', 'Action', 'Object', 'Summary'], (r.events || []).map((e) => [
      fmtTime(e.time), e.actor, e.action, [e.objectType, ' ', h('span', { class: 'mono' }, e.objectId)],
      h('code', { class: 'summary' }, JSON.stringify(e.summary)),
    ]), 'No admin event yet.'));
}
