// api.js - the admin REST API as the console calls it (docs/console.md).
//
// The console is served at /console/ (super tenant) or /t/{tenant}/console/;
// the API calls go to the same tenant's /api/server/v1. Authentication is
// the server's session cookie (HttpOnly: this code never sees it); the CSRF
// token of the session lives only in this module's memory and is sent in
// X-CSRF-Token on every call that changes something. Nothing is written to
// localStorage or sessionStorage.

const match = location.pathname.match(/^\/t\/([^/]+)\/console\//);
/** The tenant in the URL, or null for the super tenant. */
export const urlTenant = match ? decodeURIComponent(match[1]) : null;
/** "/t/{tenant}" or "" */
export const prefix = match ? `/t/${match[1]}` : '';
export const apiRoot = '/api/server/v1';
export const apiBase = `${prefix}${apiRoot}`;
/** The token endpoint of this console's tenant, as the browser reaches it. */
export const tokenEndpoint = `${location.origin}${prefix}/oauth2/token`;

let csrf = null;
let onUnauthorized = null;

export function setCsrf(token) { csrf = token; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** The console URL of `tenant` (null or the super tenant: /console/). */
export function consoleUrl(tenant, superDomain, hash = '') {
  const base = !tenant || tenant === superDomain ? '/console/' : `/t/${encodeURIComponent(tenant)}/console/`;
  return base + hash;
}

export class ApiError extends Error {
  constructor(status, body) {
    const desc = body && typeof body.description === 'string' ? body.description : `HTTP ${status}`;
    super(desc);
    this.status = status;
    this.code = body && body.code;
    this.description = desc;
    this.body = body;
  }
}

/**
 * One admin API call. `path` is relative to /api/server/v1 of this console's
 * tenant (opts.root: of the super tenant). Resolves to the parsed JSON (null
 * for 204); rejects with ApiError.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch((opts.root ? apiRoot : apiBase) + path, {
      method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { description: `the server cannot be reached (${e.message})` });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && onUnauthorized && !opts.quiet401) onUnauthorized(err);
    throw err;
  }
  return data;
}

/** A query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
