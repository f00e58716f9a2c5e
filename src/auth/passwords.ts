import { Worker } from 'node:worker_threads';

/**
 * bcrypt, cost 11 (100–250 ms of one core in pure JS): slow enough to make a stolen table
 * expensive to crack, fast enough that a login never feels slow. Hashes are bcryptjs's `$2b$11$`
 * format, so every stored hash stays valid.
 */
const COST = 11;

export const PASSWORD_MIN_LENGTH = 10;
/** bcrypt reads only the first 72 bytes; longer passwords would silently lose their tail. */
export const PASSWORD_MAX_BYTES = 72;

// bcrypt of 'not-a-real-password-0000' at cost 11, compared against when the email is unknown so a
// login takes as long whether or not it exists. A literal: computing it would block the thread at start.
const DUMMY_HASH = '$2b$11$t3nPWJuHxVvqmB97o02RUuXe24vWCVvVsNp77OrBoizqo4yBHThW2';

/** Every hashing slot is taken: the caller should answer "retry shortly" rather than wait. */
export class PasswordHashingBusyError extends Error {
  readonly retryAfterSeconds = 1;
  constructor() {
    super('Too many password checks in progress; retry in a second');
  }
}

// Plain JavaScript evaluated in the thread, so it loads the same under tsx, ts-jest and compiled
// node (a .ts worker file cannot be started by plain node, and tsc would not copy a .js one).
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };
interface Pending {
  resolve(value: string | boolean): void;
  reject(err: Error): void;
}
interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface PasswordHasherOptions {
  /** Threads doing bcrypt; each keeps one core busy while it works. */
  threads: number;
  /** Hashes waiting or running, over all threads; one more is refused with PasswordHashingBusyError. */
  maxPending: number;
}

/**
 * bcrypt on worker threads, so a flood of logins costs those threads' time and never the event
 * loop's (webhooks keep answering). The queue is bounded: beyond `maxPending` a call fails at once
 * instead of waiting behind seconds of work. Threads start on first use, hold the process open only
 * while they have work (unref when idle), and a crashed thread fails its jobs and is replaced.
 */
export class PasswordHasher {
  private readonly threads: Thread[] = [];
  private nextId = 0;
  private pendingCount = 0;

  constructor(private readonly options: PasswordHasherOptions) {}

  get pending(): number {
    return this.pendingCount;
  }

  hash(password: string): Promise<string> {
    return this.run({ op: 'hash', password, cost: COST }) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  /** Stops the threads; their unfinished jobs fail. The next call starts new ones. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    for (const t of threads) this.fail(t, new Error('password hashing was shut down'));
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private run(job: Job): Promise<string | boolean> {
    if (this.pendingCount >= this.options.maxPending) return Promise.reject(new PasswordHashingBusyError());
    const thread = this.leastBusy();
    const id = ++this.nextId;
    this.pendingCount++;
    if (thread.pending.size === 0) thread.worker.ref();
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, ...job });
    });
  }

  private leastBusy(): Thread {
    if (this.threads.length < this.options.threads) return this.spawn();
    return this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private spawn(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { bcryptPath: require.resolve('bcryptjs') } });
    const thread: Thread = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (msg: { id: number; result?: string | boolean; error?: string }) => {
      const job = thread.pending.get(msg.id);
      if (!job) return;
      this.settle(thread, msg.id);
      if (msg.error !== undefined) job.reject(new Error(`bcrypt: ${msg.error}`));
      else job.resolve(msg.result!);
    });
    const gone = (err: Error) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      this.fail(thread, err);
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`password hashing thread exited (code ${code})`)));
    this.threads.push(thread);
    return thread;
  }

  private settle(thread: Thread, id: number): void {
    thread.pending.delete(id);
    this.pendingCount--;
    if (thread.pending.size === 0) thread.worker.unref();
  }

  private fail(thread: Thread, err: Error): void {
    for (const [id, job] of [...thread.pending]) {
      this.settle(thread, id);
      job.reject(err);
    }
  }
}

/**
 * The process's hasher: one thread (a second would take a core from the webhook path on small
 * machines), and at most 8 hashes waiting or running, i.e. about 1–2 s of work; the login limits
 * (src/api/routes/auth.ts) keep a flood from reaching it at all.
 */
export const passwords = new PasswordHasher({ threads: 1, maxPending: 8 });

export function hashPassword(password: string): Promise<string> {
  return passwords.hash(password);
}

export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const ok = await passwords.compare(password, hash ?? DUMMY_HASH);
  return ok && hash !== undefined;
}

/** Stops the hashing thread (API shutdown, end of a test file); it restarts on next use. */
export function closePasswordHashing(): Promise<void> {
  return passwords.close();
}
