import net from 'node:net';

/**
 * A TCP proxy on loopback that can drop every connection and refuse new ones for a while: an
 * outage of whatever sits behind it (Postgres, here), as clients really see one.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private down = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      if (this.down) return client.destroy();
      splice(client, net.connect(this.targetPort, this.targetHost), this.sockets);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A proxy in front of the test run's Postgres, and the database URL that goes through it. */
export async function testPostgresProxy(): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(process.env.TEST_DATABASE_URL!);
  const proxy = await new TcpProxy(direct.hostname, Number(direct.port || 5432)).start();
  const viaProxy = new URL(direct.toString());
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  return { proxy, url: viaProxy.toString() };
}

/**
 * Pipes two sockets into each other until either closes, tracking both in `sockets` (so a proxy
 * can drop them all at once); errors just close the pair.
 */
export function splice(client: net.Socket, upstream: net.Socket, sockets: Set<net.Socket>): void {
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  }
  client.pipe(upstream).pipe(client);
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}
