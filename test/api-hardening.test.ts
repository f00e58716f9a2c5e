/**
 * Hostile and unlucky input (issue 15): NUL characters, a caller hoarding live streams, the
 * console's browser-side defences, a Postgres outage under the API, secrets in request logs, and
 * where the worker's metrics listen.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { isDatabaseUnavailable } from '../src/api/db-unavailable';
import { parseConfig } from '../src/config';
import { startMetricsServer } from '../src/metrics/server';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { testPostgresProxy, type TcpProxy } from './helpers/tcp-proxy';

/** Every log line the API and the worker write, as text. */
const logLines: string[] = [];
const memoryLog = pino(
  { level: 'trace' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  }),
);

let h: Harness;
let proxy: TcpProxy;
beforeAll(async () => {
  let url: string;
  ({ proxy, url } = await testPostgresProxy());
  // The API reads Postgres through the proxy; the worker and the test's own checks go direct.
  h = await startHarness({ apiDatabaseUrl: url, log: memoryLog });
});
afterAll(async () => {
  await h?.stop();
  await proxy?.stop();
});

// The database is shared by every test file in a run: each number here is new.
let next = Math.floor(Math.random() * 9e7);
const newPhone = () => `+9197${String(next++ % 1e8).padStart(8, '0')}`;

async function get(path: string, key: string = KEYS.admin) {
  const res = await fetch(`${h.apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => null)) as any };
}

async function contactsWithPhone(phone: string) {
  return h.db.selectFrom('contact_phone_numbers').select('contact_id').where('phone_number', '=', phone).execute();
}

/** SPEC §5's error body: exactly these fields (details may be null). */
function inSpecFormat(body: any, code: string) {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message', 'request_id', 'timestamp']);
  expect(body.error).toMatchObject({ code, message: expect.any(String), request_id: expect.stringMatching(/.+/), timestamp: expect.any(String) });
}

describe('a NUL character anywhere in the input', () => {
  test('in a JSON body, at any depth, is a 400 in the spec format and creates nothing', async () => {
    const phone = newPhone();
    const top = await h.api('POST', '/api/v1/contacts', { body: { phone, first_name: 'Ana\u0000' }, key: KEYS.marketer });
    expect(top.status).toBe(400);
    inSpecFormat(top.body, 'VALIDATION_ERROR');
    expect(top.body.error.details).toEqual([{ field: 'body.first_name', reason: expect.stringMatching(/NUL/) }]);

    const deep = await h.api('POST', '/api/v1/contacts', {
      body: { phone, first_name: 'Ana', attributes: { visits: [{ note: 'ok' }, { note: 'x\u0000y' }] } },
      key: KEYS.marketer,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'body.attributes.visits.1.note' }] });

    const inKey = await h.api('POST', '/api/v1/contacts', { body: { phone, attributes: { 'bad\u0000key': 1 } }, key: KEYS.marketer });
    expect(inKey.status).toBe(400);
    expect(await contactsWithPhone(phone)).toEqual([]);

    // The same contact without the NUL is fine: it was the character, not the request.
    const clean = await h.api('POST', '/api/v1/contacts', { body: { phone, first_name: 'Ana' }, key: KEYS.marketer });
    expect(clean.status).toBe(201);
  });

  test('in the query string or a path parameter is a 400, not a 500', async () => {
    const search = await get('/api/v1/contacts?search=a%00b');
    expect(search.status).toBe(400);
    inSpecFormat(search.body, 'VALIDATION_ERROR');
    expect(search.body.error.details).toEqual([{ field: 'query.search', reason: expect.stringMatching(/NUL/) }]);

    const conversations = await get('/api/v1/conversations?phone=%00');
    expect(conversations.status).toBe(400);

    const byId = await get('/api/v1/contacts/12%00');
    expect(byId.status).toBe(400);
    inSpecFormat(byId.body, 'VALIDATION_ERROR');
    expect(byId.body.error.details).toEqual([{ field: 'path', reason: expect.stringMatching(/NUL/) }]);

    const messages = await get('/api/v1/conversations/%00/messages');
    expect(messages.status).toBe(400);
  });

  test('in a contact import, JSON or CSV, is a 400 and imports nothing', async () => {
    const [p1, p2] = [newPhone(), newPhone()];
    const json = await h.api('POST', '/api/v1/contacts/bulk/import', {
      body: [
        { phone: p1, first_name: 'Good' },
        { phone: p2, company: 'Acme\u0000 Ltd' },
      ],
      key: KEYS.marketer,
    });
    expect(json.status).toBe(400);
    inSpecFormat(json.body, 'VALIDATION_ERROR');
    expect(json.body.error.details).toEqual([{ field: 'body.1.company', reason: expect.stringMatching(/NUL/) }]);

    const csv = await fetch(`${h.apiUrl}/api/v1/contacts/bulk/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.marketer}`, 'content-type': 'text/csv' },
      body: `phone,first_name\n${p1},Good\n${p2},Bad\u0000Name\n`,
    });
    expect(csv.status).toBe(400);
    inSpecFormat(await csv.json(), 'VALIDATION_ERROR');

    expect(await contactsWithPhone(p1)).toEqual([]);
    expect(await contactsWithPhone(p2)).toEqual([]);
  });
});

describe('live conversation streams', () => {
  interface OpenStream {
    status: number;
    retryAfter: string | null;
    body: any;
    close(): void;
  }

  async function openStream(key: string): Promise<OpenStream> {
    const abort = new AbortController();
    const res = await fetch(`${h.apiUrl}/api/v1/conversations/stream`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
    // An open stream answers its headers at once; its body stays open until close().
    const body = res.ok ? null : await res.json();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body, close: () => abort.abort() };
  }

  test('are capped per caller with a 429, other callers unaffected, and a closed stream frees its place', async () => {
    const open: OpenStream[] = [];
    try {
      for (let i = 0; i < 5; i++) open.push(await openStream(KEYS.viewer));
      expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);

      const sixth = await openStream(KEYS.viewer);
      expect(sixth.status).toBe(429);
      expect(sixth.retryAfter).toBe('5');
      inSpecFormat(sixth.body, 'RATE_LIMIT_EXCEEDED');
      expect(sixth.body.error.details).toMatchObject({ limit: 5, per: 'caller' });

      // Another key is another caller: the viewer's streams take nothing from it.
      const other = await openStream(KEYS.operator);
      open.push(other);
      expect(other.status).toBe(200);

      // The API notices the client leaving when the connection closes; then the place is free again.
      open.shift()!.close();
      const again = await eventually(async () => {
        const s = await openStream(KEYS.viewer);
        if (s.status !== 200) throw new Error(`still refused: ${s.status}`);
        return s;
      });
      open.push(again);
      const seventh = await openStream(KEYS.viewer);
      expect(seventh.status).toBe(429);
    } finally {
      for (const s of open) s.close();
    }
  });
});

describe('the operator console', () => {
  test('is served with a strict Content-Security-Policy, no framing and no sniffing', async () => {
    const res = await fetch(`${h.apiUrl}/console/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');

    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name!, values]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);

    // The only inline script, the import map, is allowed by its hash and nothing else inline is.
    const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!);
    expect(inline).toHaveLength(1);
    const hash = `'sha256-${createHash('sha256').update(inline[0]!).digest('base64')}'`;
    expect(directives.get('script-src')).toEqual(["'self'", hash]);

    // The scripts it loads come with the same headers.
    const app = await fetch(`${h.apiUrl}/console/app.js`);
    expect(app.headers.get('x-content-type-options')).toBe('nosniff');
    expect(app.headers.get('content-type')).toMatch(/javascript/);
  });
});

describe('the webhook verify token', () => {
  const logged = () => logLines.join('\n');

  test('never reaches the logs, whether the handshake succeeds or is refused', async () => {
    const before = logLines.length;
    const ok = await fetch(`${h.apiUrl}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=4711`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('4711');
    const wrongToken = 'not-the-token-8c1f2e';
    const refused = await fetch(`${h.apiUrl}/webhook?hub.mode=subscribe&hub.verify_token=${wrongToken}&hub.challenge=4712`);
    expect(refused.status).toBe(403);

    // Both requests were logged, by URL, with the token's value masked in the URL and the query.
    await eventually(() => {
      const lines = logLines
        .slice(before)
        .map((l) => JSON.parse(l))
        .filter((l) => l.req?.url);
      const urls = lines.map((l) => l.req.url as string);
      expect(urls).toEqual(
        expect.arrayContaining([
          '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=4711',
          '/webhook?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=4712',
        ]),
      );
      const refusedLine = lines.find((l) => l.req.url.startsWith('/webhook?'));
      expect(refusedLine).toMatchObject({ res: { statusCode: 403 }, req: { query: { 'hub.verify_token': '[redacted]', 'hub.challenge': '4712' } } });
    });
    expect(logged()).not.toContain('verify-me');
    expect(logged()).not.toContain(wrongToken);
  });
});

describe("when the API's Postgres is unreachable", () => {
  test('reads answer 503 SERVICE_UNAVAILABLE with Retry-After, and 200 again once it is back', async () => {
    expect((await get('/api/v1/conversations')).status).toBe(200);
    proxy.cut();
    try {
      const down = await get('/api/v1/conversations');
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      inSpecFormat(down.body, 'SERVICE_UNAVAILABLE');
      expect(down.body.error.message).toMatch(/database is unreachable/i);
      expect((await get('/api/v1/contacts')).status).toBe(503);
    } finally {
      proxy.restore();
    }
    await eventually(async () => expect((await get('/api/v1/conversations')).status).toBe(200), 20_000);
  });

  test('connection errors and the server going away count as unreachable; other database errors do not', () => {
    const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
    for (const code of ['08006', '08001', '08003', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET'])
      expect(isDatabaseUnavailable(pgError(code))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')]))).toBe(true);
    // A unique violation, a cancelled query, a syntax error: the request's or our fault, not an outage.
    for (const code of ['23505', '57014', '42601']) expect(isDatabaseUnavailable(pgError(code))).toBe(false);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
  });
});

describe("the worker's metrics endpoint", () => {
  const silent = pino({ level: 'silent' });

  async function listeningOn(host: string | undefined) {
    const server = await startMetricsServer(0, silent, host);
    try {
      const { address, port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return { address, status: res.status };
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  test('listens on loopback unless WORKER_METRICS_HOST says otherwise', async () => {
    const byDefault = parseConfig({});
    expect(byDefault.WORKER_METRICS_HOST).toBe('127.0.0.1');
    expect(await listeningOn(byDefault.WORKER_METRICS_HOST)).toEqual({ address: '127.0.0.1', status: 200 });
    // Called without a host at all (as before WORKER_METRICS_HOST existed), it is loopback too.
    expect(await listeningOn(undefined)).toEqual({ address: '127.0.0.1', status: 200 });
    expect(parseConfig({ WORKER_METRICS_HOST: '' }).WORKER_METRICS_HOST).toBe('127.0.0.1');

    const everywhere = parseConfig({ WORKER_METRICS_HOST: '0.0.0.0' });
    expect(await listeningOn(everywhere.WORKER_METRICS_HOST)).toEqual({ address: '0.0.0.0', status: 200 });
  });
});
