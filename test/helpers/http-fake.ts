import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Fault {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A real HTTP server on loopback with a queue of faults to answer before behaving normally. */
export abstract class HttpFake {
  readonly faults: Fault[] = [];
  /** Answer every request with this fault until cleared (outage simulation). */
  outage: Fault | undefined;
  delayMs = 0;
  /** The next this-many requests are handled (recorded, accepted) and then their connection is cut without an answer. */
  dropAfterHandling = 0;
  private server?: http.Server;
  url = '';

  /** Runs fn with some of this fake's settings changed (delay, outage, ...), restoring them after. */
  async during<T>(changes: Partial<this>, fn: () => Promise<T>): Promise<T> {
    const keys = Object.keys(changes) as (keyof this)[];
    const previous = keys.map((k) => this[k]);
    Object.assign(this, changes);
    try {
      return await fn();
    } finally {
      keys.forEach((k, i) => (this[k] = previous[i]!));
    }
  }

  /** `body` is the request's JSON (or its text when it is not JSON); `raw` its bytes (multipart uploads). */
  protected abstract handle(req: http.IncomingMessage, body: unknown, raw: Buffer): Promise<{ status: number; body: unknown }>;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.respond(req, res, Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private async respond(req: http.IncomingMessage, res: http.ServerResponse, bytes: Buffer): Promise<void> {
    const fault = this.outage ?? this.faults.shift();
    const raw = bytes.toString('utf8');
    let parsed: unknown = undefined;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      parsed = raw;
    }
    // The request is recorded before the delay, so tests can act while a response is in flight.
    const answer = fault ?? (await this.handle(req, parsed, bytes));
    if (!fault && this.dropAfterHandling > 0) {
      this.dropAfterHandling--;
      res.socket?.destroy();
      return;
    }
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    res.writeHead(answer.status, { 'content-type': 'application/json', ...(fault?.headers ?? {}) });
    res.end(JSON.stringify(answer.body));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
