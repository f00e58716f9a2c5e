/**
 * The API as a whole: every route is documented and guarded (walked from Express's own route
 * table), /openapi.json is valid OpenAPI 3.1 and lists every route, and the request limits answer
 * 429 and 413 in the spec's format.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { routeTable, type RouteEntry } from '../src/api/openapi/route-table';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(() => h.stop());

/** A concrete URL for a route pattern: every path parameter becomes 1. */
const concrete = (r: RouteEntry) => r.path.replace(/:\w+/g, '1');

async function call(r: RouteEntry, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.apiUrl}${concrete(r)}`, {
    method: r.method.toUpperCase(),
    headers: { 'content-type': 'application/json', ...headers },
    body: r.method === 'get' || r.method === 'delete' ? undefined : '{}',
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as { error?: { code: string } } | null };
}

describe('the route table', () => {
  it('documents every route the app answers', () => {
    const routes = routeTable(h.app);
    expect(routes.length).toBeGreaterThan(60);
    expect(routes.filter((r) => !r.doc).map((r) => `${r.method.toUpperCase()} ${r.path}`)).toEqual([]);
  });

  it('answers no /api/v1 route without a credential, or with a wrong one', async () => {
    const guarded = routeTable(h.app).filter((r) => r.path.startsWith('/api/v1/') && r.doc?.access !== 'public');
    expect(guarded.length).toBeGreaterThan(60);
    const open: string[] = [];
    for (const r of guarded) {
      const none = await call(r);
      const wrong = await call(r, { authorization: 'Bearer not-a-real-key-0000000000' });
      const expiredLooking = await call(r, { authorization: 'Bearer aaa.bbb.ccc' });
      for (const res of [none, wrong, expiredLooking]) {
        if (res.status !== 401 || res.body?.error?.code !== 'AUTHENTICATION_ERROR') open.push(`${r.method.toUpperCase()} ${r.path} → ${res.status}`);
      }
    }
    expect(open).toEqual([]);
    // Only login, refresh and logout are open under /api/v1.
    const publicV1 = routeTable(h.app).filter((r) => r.path.startsWith('/api/v1/') && r.doc?.access === 'public');
    expect(publicV1.map((r) => r.path).sort()).toEqual(['/api/v1/auth/login', '/api/v1/auth/logout', '/api/v1/auth/refresh']);
  });

  it('refuses a viewer every route its documented access does not give a viewer', async () => {
    const writes = routeTable(h.app).filter((r) => Array.isArray(r.doc?.access) && !(r.doc!.access as string[]).includes('viewer'));
    expect(writes.length).toBeGreaterThan(30);
    const wrong: string[] = [];
    for (const r of writes) {
      const res = await call(r, { authorization: `Bearer ${KEYS.viewer}` });
      if (res.status !== 403 || res.body?.error?.code !== 'AUTHORIZATION_ERROR') wrong.push(`${r.method.toUpperCase()} ${r.path} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('OpenAPI', () => {
  let doc: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; security: unknown[] }>> };
  beforeAll(async () => {
    doc = (await (await fetch(`${h.apiUrl}/openapi.json`)).json()) as typeof doc;
  });

  it('is valid OpenAPI 3.1 by the official schema', async () => {
    const validator = path.join(__dirname, 'helpers', 'validate-openapi.mjs');
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [validator], { cwd: path.join(__dirname, '..') }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin!.end(JSON.stringify(doc));
    });
    const result = JSON.parse(out);
    expect(result.errors).toBeNull();
    expect(result).toMatchObject({ valid: true, version: '3.1' });
    expect(doc.openapi).toBe('3.1.0');
  });

  it('lists every route, each with its errors', () => {
    const routes = routeTable(h.app);
    for (const r of routes) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method];
      expect({ route: `${r.method} ${r.path}`, found: Boolean(op) }).toEqual({ route: `${r.method} ${r.path}`, found: true });
      expect(op!.responses['500']).toBeDefined();
      if (r.doc!.access !== 'public') {
        expect(op!.responses['401']).toBeDefined();
        expect(op!.security).toEqual([{ bearerAuth: [] }]);
      }
      if (r.path.includes(':')) expect(op!.responses['400'] ?? op!.responses['404']).toBeDefined();
    }
    const operations = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
    expect(operations).toBe(routes.length);
    // A route's own errors are there too: a missing lead is a 404, a template in use a 409.
    expect(doc.paths['/api/v1/leads/{id}']!.get!.responses['404']).toBeDefined();
    expect(doc.paths['/api/v1/templates/{id}']!.put!.responses['409']).toBeDefined();
    expect(doc.paths['/api/v1/users']!.post!.responses['403']).toBeDefined();
  });

  it('is browsable at /docs', async () => {
    const res = await fetch(`${h.apiUrl}/docs/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/swagger-ui/i);
    const init = await (await fetch(`${h.apiUrl}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('/openapi.json');
  });
});

describe('request limits', () => {
  it('answers 429 with the rate-limit headers after the per-minute limit, per caller', async () => {
    const limited = await startHarness({ worker: false, rateLimits: { perMinute: 5, perHour: 100 } });
    try {
      const remaining: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${limited.apiUrl}/api/v1/templates`, { headers: { authorization: `Bearer ${KEYS.viewer}` } });
        expect(res.status).toBe(200);
        remaining.push(res.headers.get('x-ratelimit-remaining')!);
        expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      }
      expect(remaining).toEqual(['4', '3', '2', '1', '0']);

      const res = await fetch(`${limited.apiUrl}/api/v1/templates`, { headers: { authorization: `Bearer ${KEYS.viewer}` } });
      expect(res.status).toBe(429);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(reset).toBeGreaterThan(Date.now() / 1000 - 1);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await res.json()) as { error: unknown };
      expect(body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { limit: 5, remaining: 0, retry_after_seconds: retryAfter } });

      // Another caller has its own budget.
      expect((await fetch(`${limited.apiUrl}/api/v1/templates`, { headers: { authorization: `Bearer ${KEYS.operator}` } })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('applies the hourly limit too, and reports whichever runs out first', async () => {
    const limited = await startHarness({ worker: false, rateLimits: { perMinute: 100, perHour: 3 } });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await fetch(`${limited.apiUrl}/api/v1/templates`, { headers: { authorization: `Bearer ${KEYS.viewer}` } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last!.headers.get('x-ratelimit-limit')).toBe('3');
      expect(((await last!.json()) as { error: { message: string } }).error.message).toMatch(/per hour/);
    } finally {
      await limited.stop();
    }
  });

  it('answers 413 for a body over the limit and changes nothing', async () => {
    const small = await startHarness({ worker: false, bodyLimit: '1kb' });
    try {
      const notes = 'x'.repeat(2048);
      const res = await small.api('POST', '/api/v1/contacts', { body: { phone: '+14155550177', notes }, key: KEYS.marketer });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await small.api('GET', '/api/v1/contacts?search=4155550177')).body.total).toBe(0);
    } finally {
      await small.stop();
    }
  });
});
