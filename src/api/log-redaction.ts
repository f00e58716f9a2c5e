/**
 * Query parameters whose values are credentials, e.g. Meta's `hub.verify_token` on the webhook
 * handshake. Request logs carry the URL and the parsed query; these values never reach them.
 */
const SECRET_PARAM = /token|secret|password|signature|api_?key/i;
const REDACTED = '[redacted]';

function decodeName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The URL with every secret query value replaced; a name that cannot be decoded counts as secret. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = decodeName(pair.slice(0, eq));
      return name === undefined || SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${query}`;
}

/** A copy of a parsed query with secret values replaced (the request's own object is left alone). */
export function redactQuery(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, SECRET_PARAM.test(k) ? REDACTED : v]));
}

/** For pino-http's `serializers.req`: it gets the request as pino-std-serializers shaped it. */
export function redactRequestLog(req: { url?: string; query?: unknown }): unknown {
  return { ...req, url: typeof req.url === 'string' ? redactUrl(req.url) : req.url, query: redactQuery(req.query) };
}
