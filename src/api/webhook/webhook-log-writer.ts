import type { Db } from '../../db/database';
import { isPermanentWriteError } from '../../db/pg-errors';
import type { NewWebhookLog } from '../../db/schema';
import type { Logger } from '../../logger';
import { webhookLogRowsDropped, webhookLogRowsWritten } from '../../metrics/registry';

export interface WebhookLogWriterLimits {
  /** Rows held (queued or being written) at most; one more is dropped and counted. */
  maxRows: number;
  /** Bytes of bodies held at most (rows are bounded by WEBHOOK_LOG_MAX_BODY_BYTES, this bounds them together). */
  maxBytes: number;
  /** Rows per INSERT. */
  batchSize: number;
  /** Tries of one batch before it is dropped (connection trouble); a row Postgres refuses for good is not retried. */
  attempts: number;
  /** Wait between tries, so an outage is not a busy loop. */
  retryDelayMs: number;
}

export const DEFAULT_WRITER_LIMITS: WebhookLogWriterLimits = { maxRows: 1000, maxBytes: 16 * 1024 * 1024, batchSize: 50, attempts: 3, retryDelayMs: 1000 };

/** What a row costs the queue: its body and, roughly, everything else. */
const sizeOf = (row: NewWebhookLog) => (row.body?.length ?? 0) + 512;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The webhook log's write path: a bounded in-process queue drained by one loop, one INSERT of up
 * to `batchSize` rows at a time, so logging uses at most one of the pool's connections and never
 * more memory than its caps. The webhook's own durability is Temporal, not this: when Postgres is
 * slow or down, rows wait, then are dropped and counted (whatsapp_webhook_log_rows_dropped_total),
 * and enqueue() never waits, throws or fails a request.
 */
export class WebhookLogWriter {
  private readonly queue: { row: NewWebhookLog; size: number }[] = [];
  private heldRows = 0;
  private heldBytes = 0;
  private draining = false;
  /** Set while writes fail: logged once per streak, not once per row. */
  private failing = false;
  private idle: (() => void)[] = [];
  private readonly limits: WebhookLogWriterLimits;

  constructor(
    private readonly insert: (rows: NewWebhookLog[]) => Promise<unknown>,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
    limits: Partial<WebhookLogWriterLimits> = {},
  ) {
    this.limits = { ...DEFAULT_WRITER_LIMITS, ...limits };
  }

  /** Queues a row to be written; false (and counted) when the queue is full. */
  enqueue(row: NewWebhookLog): boolean {
    const size = sizeOf(row);
    if (this.heldRows + 1 > this.limits.maxRows || this.heldBytes + size > this.limits.maxBytes) {
      webhookLogRowsDropped.inc({ reason: 'queue_full' });
      return false;
    }
    this.queue.push({ row, size });
    this.heldRows++;
    this.heldBytes += size;
    if (!this.draining) void this.drain();
    return true;
  }

  /** Rows queued or being written. */
  get pending(): number {
    return this.heldRows;
  }

  /** Resolves once every row queued so far is written or dropped (tests; a shutdown). */
  flush(): Promise<void> {
    if (this.heldRows === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.limits.batchSize);
        try {
          await this.write(batch.map((b) => b.row));
        } catch {
          // write() counts its own failures; nothing may escape the loop.
        }
        this.heldRows -= batch.length;
        this.heldBytes -= batch.reduce((n, b) => n + b.size, 0);
      }
    } finally {
      this.draining = false;
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  private async write(rows: NewWebhookLog[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.insert(rows);
        webhookLogRowsWritten.inc(rows.length);
        if (this.failing) {
          this.failing = false;
          this.log.info('webhook log rows are written again');
        }
        return;
      } catch (err) {
        if (isPermanentWriteError(err) && rows.length > 1) {
          // One row Postgres refuses must not cost the others: each on its own, once.
          for (const row of rows) await this.write([row]);
          return;
        }
        if (attempt >= this.limits.attempts || isPermanentWriteError(err)) {
          webhookLogRowsDropped.inc({ reason: 'write_failed' }, rows.length);
          if (!this.failing) {
            this.failing = true;
            this.log.warn({ err, rows: rows.length }, 'webhook log rows not written (the webhooks themselves are not affected)');
          }
          return;
        }
        await sleep(this.limits.retryDelayMs);
      }
    }
  }
}

const writers = new WeakMap<Db, WebhookLogWriter>();

/** The one writer of a database handle, shared by both webhook routers of an app (and by apps on that handle). */
export function webhookLogWriter(db: Db, log: Pick<Logger, 'warn' | 'info'>): WebhookLogWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new WebhookLogWriter((rows) => db.insertInto('webhook_logs').values(rows).execute(), log);
    writers.set(db, writer);
  }
  return writer;
}
