/**
 * The embedded Postgres of `npm run dev` (SPEC 3.1) when nothing answers at DATABASE_URL: PGlite
 * (Postgres compiled to WebAssembly, in this process) served over TCP, so the worker and the API
 * use the same `pg` driver and SQL as with a real server.
 *
 * PGlite is one Postgres session. Many client connections share it here, one at a time: a
 * connection owns the session from its first message until Postgres reports it idle again
 * (ReadyForQuery 'I'), so an extended-protocol batch (Parse/Bind/Execute/Sync) or a transaction
 * is never interleaved with another connection's. pglite-socket's own server (0.2.x) pins only
 * open transactions, so batches from two pooled connections interleave once a message spans two
 * TCP reads (e.g. a large insert): one binds the other's statement (electric-sql/pglite#1046).
 * Transactions of different connections therefore run one after another, never concurrently.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * Whether a Postgres server answers at this URL. Any answer counts, a refusal too (wrong password,
 * missing database): that is a real server to be fixed, not replaced. Only silence does not.
 */
export async function postgresAnswers(databaseUrl: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch (err) {
    // Server errors carry a severity (and a SQLSTATE); socket errors and timeouts do not.
    return typeof (err as { severity?: unknown }).severity === 'string';
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL with its password hidden, for printing. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return databaseUrl;
  }
}

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (PGlite has the one database). */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files (created, and reused on the next start). */
  dataDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Errors PGlite itself raises (not SQL errors, which go to the client). */
  onError?: (err: Error) => void;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);

interface Client {
  socket: net.Socket;
  buffer: Buffer;
  /** Its startup packet has been read: what follows are typed messages. */
  started: boolean;
  closing: boolean;
}
/** A message to run for a client; null: the client has gone, give the session back clean. */
type Job = { client: Client; message: Uint8Array | null; startup?: boolean };

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const release = lockDataDir(dataDir);
  let db: PGlite;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = await PGlite.create({ dataDir });
  } catch (err) {
    release();
    throw err;
  }
  const onError = opts.onError ?? ((err: Error) => console.error(`[embedded postgres] ${err.message}`));

  const queue: Job[] = [];
  let owner: Client | undefined;
  let pumping = false;

  /** Runs queued messages, the owner's only while it owns the session. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const i = owner ? queue.findIndex((j) => j.client === owner) : 0;
        if (i < 0 || i >= queue.length) return;
        const [{ client, message, startup = false }] = queue.splice(i, 1) as [Job];
        owner = client;
        const idle = message ? await run(client, message, startup) : await reset();
        if (idle) owner = undefined;
      }
    } finally {
      pumping = false;
    }
  }

  /** True when the session is idle afterwards (ReadyForQuery 'I'): the next client may have it. */
  async function run(client: Client, message: Uint8Array, startup: boolean): Promise<boolean> {
    let tail = Buffer.alloc(0);
    try {
      await db.runExclusive(() =>
        db.execProtocolRawStream(message, {
          onRawData: (data) => {
            // A copy: the socket may hold on to it after PGlite has reused its memory.
            const chunk = Buffer.from(data);
            if (client.socket.writable) client.socket.write(chunk);
            tail = chunk.length >= 6 ? chunk.subarray(-6) : Buffer.concat([tail, chunk]).subarray(-6);
          },
        }),
      );
    } catch (err) {
      // PGlite failed outside SQL: this client's state is unknown, so it goes; the session is reset.
      onError(err as Error);
      client.socket.destroy();
      return reset();
    }
    // Only a simple query, a Sync or a startup ends with ReadyForQuery; mid-batch the client keeps the session.
    const ends = startup || message[0] === 0x51 /* Q */ || message[0] === 0x53; /* S */
    if (!ends) return false;
    const ready = tail.length === 6 && tail[0] === 0x5a && tail.readInt32BE(1) === 5;
    return ready ? tail[5] === 0x49 /* I */ : !db.isInTransaction();
  }

  /** Ends a batch or transaction a departed client left open, as Postgres does when a backend's client goes. */
  async function reset(): Promise<boolean> {
    try {
      await db.runExclusive(async () => {
        await db.execProtocolRawStream(SYNC, { onRawData: () => undefined });
        if (db.isInTransaction()) await db.execProtocolRawStream(simpleQuery('ROLLBACK'), { onRawData: () => undefined });
      });
    } catch (err) {
      onError(err as Error);
    }
    return true;
  }

  function enqueue(job: Job): void {
    queue.push(job);
    void pump();
  }

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const client: Client = { socket, buffer: Buffer.alloc(0), started: false, closing: false };
    socket.on('data', (data) => {
      client.buffer = Buffer.concat([client.buffer, data]);
      while (!client.closing) {
        const startup = !client.started;
        const message = nextMessage(client);
        if (!message) break;
        if (message === 'no') socket.write('N');
        else if (message === 'close') {
          client.closing = true;
          socket.end();
        } else enqueue({ client, message, startup });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.client === client) queue.splice(i, 1);
      if (owner === client) enqueue({ client, message: null });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await db.close();
    release();
    throw err;
  });
  const port = (server.address() as net.AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
        // Let the departed clients' resets finish before the files are closed.
        while (pumping || queue.length > 0) await new Promise((r) => setTimeout(r, 10));
        await db.close();
        release();
      })()),
  };
}

/**
 * The next whole message from a client: its startup packet first (no type byte), then typed
 * messages. SSL/GSS requests are refused ('N', the client goes on in plain text), a cancel
 * request (there is no backend process to cancel) and Terminate close the connection.
 */
function nextMessage(client: Client): Uint8Array | 'no' | 'close' | undefined {
  const buf = client.buffer;
  const headerLength = client.started ? 5 : 8;
  if (buf.length < headerLength) return undefined;
  const length = client.started ? 1 + buf.readInt32BE(1) : buf.readInt32BE(0);
  if (length < headerLength) return 'close'; // not the Postgres protocol
  if (buf.length < length) return undefined;
  client.buffer = buf.subarray(length);
  if (!client.started) {
    const code = buf.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) return 'no';
    if (code === CANCEL_REQUEST) return 'close';
    client.started = true;
  } else if (buf[0] === 0x58 /* X: Terminate */) {
    return 'close';
  }
  return Uint8Array.from(buf.subarray(0, length));
}

function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message.write('Q', 0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/** One process per data directory: a second PGlite on the same files would corrupt them. */
function lockDataDir(dataDir: string): () => void {
  const lock = `${dataDir}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(lock, 'utf8'));
  } catch {
    holder = undefined;
  }
  if (holder && holder !== process.pid && alive(holder)) {
    throw new Error(`${dataDir} is in use by process ${holder} (another npm run dev?)`);
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `tsx scripts/embedded-postgres.ts [dataDir] [port]`: the embedded server alone; prints its URL. */
if (require.main === module) {
  const dataDir = process.argv[2] ?? path.resolve(__dirname, '..', '.data', 'pglite');
  startEmbeddedPostgres({ dataDir, port: Number(process.argv[3] ?? 0) }).then(
    (server) => {
      console.log(server.url);
      const stop = () => void server.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(`embedded postgres: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
