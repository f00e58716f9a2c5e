/**
 * A Postgres connection dropping under a query in flight (Postgres restarted, a network cut) must
 * fail that query, not the process: pg emits 'error' on the checked-out client, and an 'error'
 * event nobody listens to would crash the worker or the API.
 */
import { sql } from 'kysely';
import { createDb } from '../src/db/database';
import { testPostgresProxy } from './helpers/tcp-proxy';

test('a connection cut mid-query fails the query and the pool recovers', async () => {
  const { proxy, url } = await testPostgresProxy();
  const db = createDb(url);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows[0]!.one).toBe(1);
    const slow = sql`select pg_sleep(5)`.execute(db);
    // Cut once the query is on the wire.
    await new Promise((r) => setTimeout(r, 300));
    proxy.cut();
    await expect(slow).rejects.toThrow();
    proxy.restore();
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows[0]!.one).toBe(1);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await db.destroy();
    await proxy.stop();
  }
});
