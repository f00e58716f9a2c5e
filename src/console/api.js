// The console's only door to the API: the signed-in session, and requests that carry its token.

const STORAGE_KEY = 'whatsapp-console.session';

/** An error answer of the API, in its {error: {code, message, details}} format. */
export class ApiError extends Error {
  constructor(status, error, retryAfterSeconds) {
    super(error?.message ?? `The API answered ${status}`);
    this.status = status;
    this.code = error?.code;
    this.details = error?.details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// Kept per tab: closing the tab signs out, and no token outlives the browser session.
let session = readStoredSession();
let endedBecause;
const listeners = new Set();

function readStoredSession() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function setSession(next, reason) {
  session = next;
  endedBecause = next ? undefined : reason;
  if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener(next);
}

export const currentSession = () => session;
/** Why the last session ended, when it was not a logout (shown on the login form). */
export const sessionEndReason = () => endedBecause;
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function errorOf(res) {
  const body = await res.json().catch(() => null);
  const retryAfter = Number(res.headers.get('retry-after')) || undefined;
  return new ApiError(res.status, body?.error ?? { message: `The API answered ${res.status} ${res.statusText}` }, retryAfter);
}

function post(path, body) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const sessionFrom = (tokens) => ({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token, user: tokens.user });

export async function login(email, password) {
  const res = await post('/api/v1/auth/login', { email, password });
  if (!res.ok) throw await errorOf(res);
  setSession(sessionFrom(await res.json()));
}

export async function logout() {
  const ending = session;
  setSession(null);
  if (ending) await post('/api/v1/auth/logout', { refresh_token: ending.refreshToken }).catch(() => undefined);
}

// A refresh token works once, and presenting a used one revokes the whole login: so one refresh
// at a time, shared by every request that found its access token expired.
let refreshing;
function refreshSession() {
  refreshing ??= (async () => {
    const res = await post('/api/v1/auth/refresh', { refresh_token: session?.refreshToken });
    if (!res.ok) {
      const err = await errorOf(res);
      setSession(null, `Your session ended (${err.message})`);
      throw err;
    }
    setSession(sessionFrom(await res.json()));
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** fetch() with the session's token; on a 401 it refreshes the session once and tries again. */
export async function authorizedFetch(path, init = {}) {
  const attempt = () => {
    const headers = { ...init.headers, authorization: `Bearer ${session?.accessToken}` };
    return { token: session?.accessToken, res: fetch(path, { ...init, headers }) };
  };
  if (!session) throw new ApiError(401, { message: 'Not signed in' });
  const first = attempt();
  const res = await first.res;
  if (res.status !== 401) return res;
  // Another request may have refreshed the session meanwhile: then just use the new token.
  if (session && session.accessToken === first.token) await refreshSession();
  if (!session) throw await errorOf(res);
  return attempt().res;
}

/** A JSON request to the API: the parsed answer, or an ApiError. `headers` adds to the request's. */
export async function api(method, path, body, headers = {}) {
  const res = await authorizedFetch(path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** A random Idempotency-Key (getRandomValues works on plain http too, where randomUUID does not). */
export function newIdempotencyKey() {
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const RETRY_STATUSES = new Set([502, 503, 504]);

/**
 * A POST that must happen once: sent with `key` as its Idempotency-Key and tried again once, with
 * the same key, when the answer was lost (a network error) or the API was briefly unavailable.
 */
export async function postOnce(path, body, key) {
  try {
    return await api('POST', path, body, { 'idempotency-key': key });
  } catch (err) {
    const retry = err instanceof TypeError || (err instanceof ApiError && RETRY_STATUSES.has(err.status));
    if (!retry) throw err;
    await new Promise((resolve) => setTimeout(resolve, Math.min(err.retryAfterSeconds ?? 1, 5) * 1000));
    return api('POST', path, body, { 'idempotency-key': key });
  }
}

/** Settings of this deployment (the Temporal Web UI address); public. */
export async function consoleConfig() {
  const res = await fetch('/console/config.json');
  return res.ok ? res.json() : { temporal_ui_url: 'http://127.0.0.1:8233', namespace: 'default' };
}
