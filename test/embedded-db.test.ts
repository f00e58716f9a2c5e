/**
 * The embedded Postgres `npm run dev` starts when nothing answers at DATABASE_URL: our migrations
 * and SQL on PGlite, through the same `pg` pool the app uses, with several connections at once.
 * The server runs in a child process, as it does beside the worker and the API (and PGlite's own
 * dynamic imports do not load inside Jest's module sandbox).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { postgresAnswers } from '../scripts/embedded-postgres';
import { ROOT } from '../scripts/temporal-cli';
import { createDb } from '../src/db/database';
import { insertInbound, reserveOutbound } from '../src/db/messages';
import { migrateToLatest } from '../src/db/migrate';

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `tsx scripts/embedded-postgres.ts <dataDir>`: resolves with its URL, or rejects with what it said when it exits. */
function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/embedded-postgres.ts', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /postgres:\/\/\S+/.exec(out)?.[0];
      if (url) {
        resolve({
          url,
          child,
          stop: () => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')))),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

let dataDir: string;
let server: Server;
beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'embedded-db-')), 'pglite');
  server = await startServer(dataDir);
});
afterAll(async () => {
  await server?.stop();
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

test('nothing answers at an unused port; the embedded server answers at its URL', async () => {
  const unused = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  expect(await postgresAnswers(`postgres://postgres@127.0.0.1:${unused}/whatsapp`)).toBe(false);
  expect(await postgresAnswers(server.url)).toBe(true);
});

test('our migrations apply, and the database name in the URL does not matter', async () => {
  const first = await migrateToLatest(server.url);
  expect(first.created).toBe(false);
  expect(first.applied.length).toBeGreaterThanOrEqual(5);
  expect((await migrateToLatest(server.url)).applied).toEqual([]);

  const client = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/whatsapp') });
  await client.connect();
  const { rows } = await client.query('select count(*)::int as n from kysely_migration');
  await client.end();
  expect(rows[0].n).toBe(first.applied.length);
});

test("the app's pool runs many statements and transactions at once without mixing them up", async () => {
  const db = createDb(server.url);
  try {
    // Large parameters span several TCP reads: a server that interleaves connections' extended-
    // protocol batches binds one query's parameters to another's statement here.
    const big = 'x'.repeat(300_000);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2
          ? sql<{ n: number }>`select ${i}::int as n`.execute(db).then((r) => r.rows[0]!.n === i)
          : sql<{ n: number }>`select length(${big}::text) as n, ${i}::int as i`.execute(db).then((r) => r.rows[0]!.n === big.length),
      ),
    );
    expect(results.every(Boolean)).toBe(true);

    // The app's own SQL (CTEs, jsonb, conflicts) from many chats at once; every other one rolls back.
    const waIds = Array.from({ length: 20 }, (_, i) => `1555000${String(i).padStart(4, '0')}`);
    const outcomes = await Promise.allSettled(
      waIds.map((waId, i) =>
        db.transaction().execute(async (trx) => {
          const conv = await trx.insertInto('conversations').values({ wa_id: waId, mode: 'bot', needs_human: false }).returning('id').executeTakeFirstOrThrow();
          await insertInbound(trx, [
            {
              conversation_id: conv.id,
              direction: 'inbound',
              sender_type: 'user',
              wamid: `wamid.${waId}`,
              message_type: 'text',
              content: `hi ${i}`,
              delivery_status: 'received',
              created_at: new Date(),
            },
          ]);
          if (i % 2) throw new Error('roll back');
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    await Promise.all(
      waIds.map((waId) =>
        reserveOutbound(db, { waId, clientKey: `key-${waId}`, senderType: 'bot', text: 'hello' }, { kind: 'text' }, 'console', { llm: 'offline' }),
      ),
    );
    const counts = await db
      .selectFrom('messages')
      .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
      .select(['messages.direction', sql<number>`count(*)::int`.as('n')])
      .where('conversations.wa_id', 'in', waIds)
      .groupBy('messages.direction')
      .orderBy('messages.direction')
      .execute();
    expect(counts).toEqual([
      { direction: 'inbound', n: 10 },
      { direction: 'outbound', n: 20 },
    ]);
    const labelled = await db.selectFrom('messages').select('metadata').where('client_key', '=', `key-${waIds[0]}`).executeTakeFirstOrThrow();
    expect(labelled.metadata).toEqual({ provider: 'console', llm: 'offline' });
  } finally {
    await db.destroy();
  }
});

test('a client that disconnects inside a transaction does not hold up the others, and its work is rolled back', async () => {
  const gone = new pg.Client({ connectionString: server.url });
  gone.on('error', () => undefined);
  await gone.connect();
  await gone.query('begin');
  await gone.query("insert into conversations (wa_id, mode, needs_human) values ('15559990000', 'bot', false)");
  // The socket dies without a word (a killed process), mid-transaction.
  (gone as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();

  const db = createDb(server.url, 2);
  try {
    const row = await db.selectFrom('conversations').select('id').where('wa_id', '=', '15559990000').executeTakeFirst();
    expect(row).toBeUndefined();
  } finally {
    await db.destroy();
  }
});

test('data persists across a restart of the embedded server', async () => {
  await server.stop();
  server = await startServer(dataDir);
  expect((await migrateToLatest(server.url)).applied).toEqual([]);
  const db = createDb(server.url);
  try {
    const { n } = await db
      .selectFrom('messages')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('metadata', '@>', sql<never>`'{"llm":"offline"}'::jsonb`)
      .executeTakeFirstOrThrow();
    expect(n).toBe(20);
  } finally {
    await db.destroy();
  }
});

test('a second server on the same data directory refuses to start, naming the first', async () => {
  await expect(startServer(dataDir)).rejects.toThrow(`in use by process ${server.child.pid}`);
});
