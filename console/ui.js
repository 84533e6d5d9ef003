// ui.js - DOM helpers. Everything the server or a JWT says is put in the
// page as text (textContent, attribute values), never parsed as HTML: there
// is no HTML parsing of strings anywhere in the console (docs/console.md,
// "Untrusted text").

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

/** h('p', {class: 'x', onclick: fn}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A labelled form field. `path` is the API member it edits (for
 * showErrors); kind: text (default), textarea, number, password, checkbox,
 * select (options: [[value, label]]), file.
 */
export function field({ label, path, kind = 'text', value, help, options, required, placeholder,
  autocomplete, rows, accept, min, max, name }) {
  const id = nextId('f');
  const helpId = help ? `${id}-help` : null;
  const errId = `${id}-err`;
  const describedby = [helpId, errId].filter(Boolean).join(' ');
  let input;
  if (kind === 'textarea') {
    input = h('textarea', { id, rows: rows || 4, placeholder, 'aria-describedby': describedby });
    input.value = value ?? '';
  } else if (kind === 'select') {
    input = h('select', { id, 'aria-describedby': describedby },
      options.map(([v, l]) => h('option', { value: v }, l)));
    if (value !== undefined) input.value = value;
  } else if (kind === 'checkbox') {
    input = h('input', { id, type: 'checkbox', checked: !!value, 'aria-describedby': describedby });
  } else {
    input = h('input', { id, type: kind, placeholder, autocomplete, accept, min, max,
      'aria-describedby': describedby, spellcheck: kind === 'text' ? 'false' : undefined });
    if (kind !== 'file') input.value = value ?? '';
  }
  if (required) { input.required = true; input.setAttribute('aria-required', 'true'); }
  if (name) input.name = name;
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  const wrap = h('div', { class: `field field-${kind}`, 'data-path': path || undefined },
    kind === 'checkbox'
      ? h('label', { for: id, class: 'check' }, input, ' ', label)
      : [h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input],
    help ? h('p', { class: 'help', id: helpId }, help) : null,
    err);
  wrap.input = input;
  return wrap;
}

/** Lines of a textarea as a list (blank lines dropped). */
export const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) { e.hidden = true; e.textContent = ''; }
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  const top = form.querySelector('.form-error');
  if (top) { top.hidden = true; top.textContent = ''; }
}

/**
 * Puts a server validation error next to the field it concerns: the
 * description starts with the member's path ("certificate.jwksUri: ...",
 * "inboundProtocolConfiguration.oidc.callbackURLs[0]: ...", "'domain' must
 * ..."); the field with
 * the longest matching data-path gets it, else the form's top. A 409 is
 * about the name.
 */
export function showErrors(form, err, pathPrefix = '') {
  clearErrors(form);
  let msg = err.description || err.message || String(err);
  let target = null;
  // "member: reason", or "'member' must ..." (tenants)
  const m = msg.match(/^([A-Za-z0-9_.[\]]+): /) || msg.match(/^'([A-Za-z0-9_.[\]]+)' /);
  let path = m ? m[1] : (err.status === 409 ? 'name' : null);
  if (path && pathPrefix && path.startsWith(pathPrefix)) path = path.slice(pathPrefix.length);
  if (path) {
    let best = -1;
    for (const f of form.querySelectorAll('[data-path]')) {
      for (const p of f.dataset.path.split(' ')) {
        const ok = path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`);
        if (ok && p.length > best && !f.closest('[hidden]')) { best = p.length; target = f; }
      }
    }
  }
  if (target) {
    const e = target.querySelector('.field-error');
    e.textContent = msg;
    e.hidden = false;
    const input = target.input || target.querySelector('input, textarea, select');
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
    const det = target.closest('details');
    if (det) det.open = true;
  } else {
    const top = form.querySelector('.form-error');
    top.textContent = msg;
    top.hidden = false;
    top.focus();
  }
}

export function formError() {
  return h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
}

let toastTimer = null;
export function toast(msg, kind = 'ok') {
  let t = document.getElementById('toast');
  if (!t) { t = h('div', { id: 'toast', role: 'status', 'aria-live': 'polite' }); document.body.append(t); }
  t.className = `toast toast-${kind}`;
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

/** A modal confirmation (native <dialog>: focus trapped, Esc cancels). */
export function confirmDialog(title, text, okLabel = 'Delete') {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: 'danger' }, okLabel);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const d = h('dialog', { class: 'confirm', 'aria-labelledby': 'dlg-title' },
      h('h2', { id: 'dlg-title' }, title), h('p', {}, text), h('div', { class: 'actions' }, cancel, ok));
    const done = (v) => { d.close(); d.remove(); resolve(v); };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    d.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.append(d);
    d.showModal();
    cancel.focus();
  });
}

/** A button that copies `text()` to the clipboard. */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'copy', 'aria-label': label }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy by hand';
    }
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

/** A read-only value with a copy button. */
export function secretBox(label, value, testid) {
  const id = nextId('s');
  return h('div', { class: 'secret' },
    h('label', { for: id }, label),
    h('div', { class: 'secret-row' },
      h('input', { id, type: 'text', readonly: true, value, 'data-testid': testid, spellcheck: 'false' }),
      copyButton(() => value, `Copy ${label}`)));
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), h('div', { class: 'actions' }, actions));
}

export function linkButton(href, text, cls = 'button') {
  return h('a', { href, class: cls }, text);
}

/** A table; rows are arrays of cells (strings or nodes). */
export function table(caption, heads, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { 'data-label': heads[i] }, c)))))));
}

export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('.000Z', 'Z');
}

export function errorBox(err) {
  return h('p', { class: 'form-error', role: 'alert' }, err.description || err.message || String(err));
}
