// The UI's only way to the server: the Vault-compatible HTTP API under
// /v1/ on this origin. The token is kept in this tab's sessionStorage and
// sent as X-Vault-Token; no cookie is ever set or sent.

const KEY = 'secretumvault.token';

/** APIError is a non-2xx answer: status and the server's errors. */
export class APIError extends Error {
  constructor(status, errors) {
    super(errors.join('; '));
    this.status = status;
    this.errors = errors;
  }
}

/** token is the current token ('' when logged out). */
export function token() {
  return sessionStorage.getItem(KEY) || '';
}

/** setToken stores t for this tab; '' forgets it. */
export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
  window.dispatchEvent(new Event('sv-token'));
}

/** path joins segments, each URL-encoded but for its slashes. */
export function path(...parts) {
  return parts.filter((p) => p !== undefined && p !== '')
    .map((p) => String(p).split('/').map(encodeURIComponent).join('/'))
    .join('/').replace(/\/{2,}/g, '/');
}

/**
 * call sends method to /v1/<p> with body as JSON and returns the decoded
 * answer ({} when empty). Statuses in opts.accept are answers, not
 * errors (sys/health's 503 sealed, a LIST's 404 "nothing here").
 */
export async function call(method, p, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const t = token();
  if (t && opts.auth !== false) headers['X-Vault-Token'] = t;
  const resp = await fetch(`/v1/${p}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store', redirect: 'error', referrerPolicy: 'no-referrer',
  });
  const text = await resp.text();
  if (opts.raw) {
    if (!resp.ok) throw new APIError(resp.status, [text || resp.statusText]);
    return text;
  }
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!resp.ok && !(opts.accept || []).includes(resp.status)) {
    const errs = json && Array.isArray(json.errors) && json.errors.length ? json.errors : [text.trim() || resp.statusText || 'request failed'];
    throw new APIError(resp.status, errs);
  }
  return json || {};
}

/** get reads p. */
export const get = (p, opts) => call('GET', p, undefined, opts);
/** post writes body to p. */
export const post = (p, body, opts) => call('POST', p, body || {}, opts);
/** put writes body to p. */
export const put = (p, body, opts) => call('PUT', p, body || {}, opts);
/** del deletes p. */
export const del = (p, opts) => call('DELETE', p, undefined, opts);

/** list LISTs p and returns its keys ([] when there is nothing). */
export async function list(p) {
  const sep = p.includes('?') ? '&' : '?';
  const r = await call('GET', `${p}${sep}list=true`, undefined, { accept: [404] });
  return (r.data && r.data.keys) || [];
}
