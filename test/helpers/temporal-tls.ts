/**
 * TLS in front of the test run's Temporal dev server, which itself speaks only plain gRPC:
 * - `makePki`: a throwaway CA, server certificates and client certificates, made with the
 *   `openssl` CLI (what an operator would use for a private CA);
 * - `TlsTerminatingProxy`: TLS (optionally requiring a client certificate: mTLS) on loopback,
 *   forwarding the decrypted bytes to the dev server; ALPN h2, since gRPC is HTTP/2;
 * - `GrpcAuthProxy`: an HTTP/2 server over TLS that forwards each gRPC call to the dev server and
 *   refuses calls without the expected `authorization: Bearer <key>` (what Temporal Cloud does
 *   with API keys), recording the header of every call it sees.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { splice } from './tcp-proxy';
import tls from 'node:tls';

export interface Pki {
  dir: string;
  /** Paths of PEM files. */
  ca: string;
  /** A second CA, which signed nothing the proxies use: the "wrong CA". */
  otherCa: string;
  /** For 127.0.0.1 and localhost. */
  server: { cert: string; key: string };
  /** Only for the name temporal.internal (TEMPORAL_TLS_SERVER_NAME). */
  namedServer: { cert: string; key: string };
  /** A client certificate from `ca`. */
  client: { cert: string; key: string };
  /** A client certificate from `ca` that expires in 3 days (validate-config warns). */
  expiringClient: { cert: string; key: string };
  /** A client certificate from `otherCa`, which the proxies do not trust. */
  strangerClient: { cert: string; key: string };
  /** A key that does not belong to `client.cert`. */
  otherKey: string;
  read(file: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 key and a certificate for it signed by `caName`, with these extensions. */
function issue(dir: string, name: string, caName: string, subject: string, extensions: string, days = 30): { cert: string; key: string } {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}.key`,
      '-set_serial',
      `0x${Date.now().toString(16)}${name.length}`,
      '-days',
      String(days),
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

function makeCa(dir: string, name: string, cn: string): string {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return path.join(dir, `${name}.pem`);
}

export function makePki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  const ca = makeCa(dir, 'ca', 'Test Temporal CA');
  const otherCa = makeCa(dir, 'other-ca', 'Some Other CA');
  const serverExt = (san: string) => `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`;
  const clientExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  const server = issue(dir, 'server', 'ca', '/CN=temporal-frontend', serverExt('IP:127.0.0.1,DNS:localhost'));
  const namedServer = issue(dir, 'named-server', 'ca', '/CN=temporal.internal', serverExt('DNS:temporal.internal'));
  const client = issue(dir, 'client', 'ca', '/CN=whatsapp-worker', clientExt);
  const expiringClient = issue(dir, 'expiring', 'ca', '/CN=whatsapp-worker', clientExt, 3);
  const strangerClient = issue(dir, 'stranger', 'other-ca', '/CN=stranger', clientExt);
  return {
    dir,
    ca,
    otherCa,
    server,
    namedServer,
    client,
    expiringClient,
    strangerClient,
    otherKey: strangerClient.key,
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export interface TlsProxyOptions {
  /** PEM paths of the server's certificate and key. */
  cert: string;
  key: string;
  /** With a CA: clients must present a certificate it signed (mTLS). */
  clientCa?: string;
}

/** TLS on 127.0.0.1, the plaintext forwarded byte for byte to `target` (host:port). */
export class TlsTerminatingProxy {
  private server?: tls.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Clients that completed the handshake (and, with mTLS, presented a trusted certificate). */
  accepted = 0;
  /** The subject CN of each accepted client's certificate ('' without one). */
  readonly peers: string[] = [];
  /** Handshakes that failed, with the reason the proxy saw. */
  readonly refused: string[] = [];

  constructor(
    private readonly target: string,
    private readonly opts: TlsProxyOptions,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const { host, port } = splitAddress(this.target);
    this.server = tls.createServer(
      {
        cert: readFileSync(this.opts.cert),
        key: readFileSync(this.opts.key),
        ALPNProtocols: ['h2'],
        ...(this.opts.clientCa ? { ca: readFileSync(this.opts.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
      },
      (client) => {
        this.accepted++;
        const cn = client.getPeerCertificate()?.subject?.CN;
        this.peers.push(typeof cn === 'string' ? cn : '');
        splice(client, net.connect(port, host), this.sockets);
      },
    );
    this.server.on('tlsClientError', (err) => this.refused.push((err as NodeJS.ErrnoException).code ?? err.message));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const HOP_HEADERS = new Set([
  ':authority',
  ':scheme',
  ':method',
  ':path',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
]);

/**
 * gRPC over TLS (HTTP/2, ALPN h2) on 127.0.0.1, each call forwarded to `target` (plain HTTP/2)
 * only when its `authorization` header is `Bearer <apiKey>`; others are answered at once with
 * gRPC status 16 UNAUTHENTICATED, as Temporal Cloud answers a wrong API key.
 */
export class GrpcAuthProxy {
  private server?: http2.Http2SecureServer;
  private upstream?: http2.ClientHttp2Session;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  port = 0;
  /** The `authorization` header of every call, in order ('' when absent), and its gRPC method. */
  readonly calls: { method: string; authorization: string }[] = [];

  constructor(
    private readonly target: string,
    private readonly apiKey: string,
    private readonly tlsFiles: { cert: string; key: string },
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private upstreamSession(): http2.ClientHttp2Session {
    if (!this.upstream || this.upstream.closed || this.upstream.destroyed) {
      this.upstream = http2.connect(`http://${this.target}`);
      this.upstream.on('error', () => undefined);
    }
    return this.upstream;
  }

  async start(): Promise<this> {
    this.server = http2.createSecureServer({ cert: readFileSync(this.tlsFiles.cert), key: readFileSync(this.tlsFiles.key), ALPNProtocols: ['h2'] });
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      const authorization = String(headers.authorization ?? '');
      this.calls.push({ method: String(headers[':path']), authorization });
      if (authorization !== `Bearer ${this.apiKey}`) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'missing or wrong API key' },
          { endStream: true },
        );
        return;
      }
      const forward: http2.OutgoingHttpHeaders = { ':method': headers[':method'], ':path': headers[':path'] };
      for (const [name, value] of Object.entries(headers)) if (!HOP_HEADERS.has(name) && value !== undefined) forward[name] = value;
      const req = this.upstreamSession().request(forward);
      req.on('error', () => stream.destroy());
      stream.on('close', () => {
        if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
      });
      stream.pipe(req);
      let trailers: http2.IncomingHttpHeaders = {};
      req.on('trailers', (t) => (trailers = t));
      req.on('response', (responseHeaders, flags) => {
        const out = stripPseudo(responseHeaders, ':status');
        // A trailers-only answer (gRPC errors) ends the stream with its headers.
        if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
          stream.respond(out, { endStream: true });
          return;
        }
        stream.respond(out, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers(stripPseudo(trailers)));
        req.pipe(stream);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    this.upstream?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Headers to pass on: without pseudo-headers except `keep` (e.g. :status). */
function stripPseudo(headers: http2.IncomingHttpHeaders, keep?: string): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || (name.startsWith(':') && name !== keep)) continue;
    out[name] = value;
  }
  return out;
}
