/**
 * The Temporal connection as configured (issue 13), in one place for every process: the options
 * `Connection.connect` / `Connection.lazy` (API, CLI, namespace set-up) and
 * `NativeConnection.connect` (worker) both take — `{ address, tls, apiKey }`.
 *
 * - plain gRPC: nothing set (the dev server, a frontend on a private network);
 * - TLS: TEMPORAL_TLS=true, or any setting below; the server's certificate is checked against the
 *   system's CAs, or against TEMPORAL_TLS_CA (a private CA), for the host of TEMPORAL_ADDRESS or
 *   TEMPORAL_TLS_SERVER_NAME;
 * - mTLS: TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY, the client certificate and its key;
 * - API key: TEMPORAL_API_KEY, sent as `authorization: Bearer <key>` on every call (Temporal Cloud).
 *
 * File contents and the key never leave this module except into the SDK's options: what is logged
 * or printed is `describeTemporalConnection`, which names files and certificate subjects only.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/** The settings this module reads (a parsed Config has them all). */
export interface TemporalConnectionSettings {
  TEMPORAL_ADDRESS: string;
  /** Optional only for the config's own check, before its default is applied. */
  TEMPORAL_TLS?: boolean;
  TEMPORAL_TLS_CERT?: string;
  TEMPORAL_TLS_KEY?: string;
  TEMPORAL_TLS_CA?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
}

/** The SDK's TLSConfig (the same fields for @temporalio/client and @temporalio/worker). */
export interface TemporalTlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** Assignable to both ConnectionOptions and NativeConnectionOptions. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TemporalTlsOptions;
  apiKey?: string;
}

type TlsFileSetting = 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA';

export class TemporalTlsFileError extends Error {
  constructor(
    readonly setting: TlsFileSetting,
    readonly detail: string,
  ) {
    super(`${setting} ${detail}`);
  }
}

const errorCode = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

function readSetting(setting: TlsFileSetting, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = errorCode(err);
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : (code ?? (err as Error).message);
    throw new TemporalTlsFileError(setting, `cannot be read: ${file} (${why})`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file, parsed; an error naming the setting when there is none or one is bad. */
function certificates(setting: TlsFileSetting, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TemporalTlsFileError(setting, `is not a PEM certificate file: ${file} has no -----BEGIN CERTIFICATE----- block`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TemporalTlsFileError(setting, `holds a certificate that cannot be parsed (block ${i + 1} of ${file})`);
    }
  });
}

function privateKey(file: string, pem: Buffer): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString('latin1'))) {
    throw new TemporalTlsFileError('TEMPORAL_TLS_KEY', `is not a PEM private key: ${file} has no -----BEGIN ... PRIVATE KEY----- block`);
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    if (errorCode(err) === 'ERR_MISSING_PASSPHRASE' || /ENCRYPTED/.test(pem.toString('latin1'))) {
      throw new TemporalTlsFileError('TEMPORAL_TLS_KEY', `is encrypted (${file}); give it unencrypted, e.g. openssl pkey -in ${file} -out key.pem`);
    }
    throw new TemporalTlsFileError('TEMPORAL_TLS_KEY', `holds a private key that cannot be parsed (${file})`);
  }
}

interface TlsFiles {
  ca?: { pem: Buffer; certs: X509Certificate[] };
  client?: { crt: Buffer; key: Buffer; cert: X509Certificate };
}

/** Reads and checks the configured files; throws TemporalTlsFileError naming the setting. */
function readTlsFiles(s: TemporalConnectionSettings): TlsFiles {
  const files: TlsFiles = {};
  if (s.TEMPORAL_TLS_CA) {
    const pem = readSetting('TEMPORAL_TLS_CA', s.TEMPORAL_TLS_CA);
    files.ca = { pem, certs: certificates('TEMPORAL_TLS_CA', s.TEMPORAL_TLS_CA, pem) };
  }
  if (s.TEMPORAL_TLS_CERT && s.TEMPORAL_TLS_KEY) {
    const crt = readSetting('TEMPORAL_TLS_CERT', s.TEMPORAL_TLS_CERT);
    const cert = certificates('TEMPORAL_TLS_CERT', s.TEMPORAL_TLS_CERT, crt)[0]!;
    const key = readSetting('TEMPORAL_TLS_KEY', s.TEMPORAL_TLS_KEY);
    if (!cert.checkPrivateKey(privateKey(s.TEMPORAL_TLS_KEY, key))) {
      throw new TemporalTlsFileError(
        'TEMPORAL_TLS_KEY',
        `is not the key of the certificate in TEMPORAL_TLS_CERT (${s.TEMPORAL_TLS_KEY} does not match ${s.TEMPORAL_TLS_CERT})`,
      );
    }
    files.client = { crt, key, cert };
  }
  return files;
}

/**
 * For the config schema: the certificate and key go together, and every file named is readable,
 * PEM, and (certificate and key) a pair. One issue per problem, naming its setting.
 */
export function checkTemporalTlsFiles(s: TemporalConnectionSettings): { setting: TlsFileSetting; message: string }[] {
  if (Boolean(s.TEMPORAL_TLS_CERT) !== Boolean(s.TEMPORAL_TLS_KEY)) {
    return s.TEMPORAL_TLS_CERT
      ? [{ setting: 'TEMPORAL_TLS_KEY', message: "is required with TEMPORAL_TLS_CERT (the client certificate's private key, PEM)" }]
      : [{ setting: 'TEMPORAL_TLS_CERT', message: 'is required with TEMPORAL_TLS_KEY (the client certificate, PEM)' }];
  }
  try {
    readTlsFiles(s);
    return [];
  } catch (err) {
    if (err instanceof TemporalTlsFileError) return [{ setting: err.setting, message: err.detail }];
    throw err;
  }
}

const tlsOn = (s: TemporalConnectionSettings) =>
  s.TEMPORAL_TLS ?? Boolean(s.TEMPORAL_TLS_CERT || s.TEMPORAL_TLS_KEY || s.TEMPORAL_TLS_CA || s.TEMPORAL_TLS_SERVER_NAME || s.TEMPORAL_API_KEY);

/** The options for Connection.connect / Connection.lazy and NativeConnection.connect. Reads the files. */
export function temporalConnectionOptions(s: TemporalConnectionSettings): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: s.TEMPORAL_ADDRESS };
  if (tlsOn(s)) {
    const files = readTlsFiles(s);
    const tlsOptions: TemporalTlsOptions = {};
    if (s.TEMPORAL_TLS_SERVER_NAME) tlsOptions.serverNameOverride = s.TEMPORAL_TLS_SERVER_NAME;
    if (files.ca) tlsOptions.serverRootCACertificate = files.ca.pem;
    if (files.client) tlsOptions.clientCertPair = { crt: files.client.crt, key: files.client.key };
    options.tls = tlsOptions;
  }
  if (s.TEMPORAL_API_KEY) options.apiKey = s.TEMPORAL_API_KEY;
  return options;
}

const subjectCn = (cert: X509Certificate) => /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');
const day = (date: string) => new Date(date).toISOString().slice(0, 10);

/** For logs and validate-config: how Temporal is reached, naming files and subjects, never contents. */
export function describeTemporalConnection(s: TemporalConnectionSettings): string {
  if (!tlsOn(s)) return `${s.TEMPORAL_ADDRESS} (plain gRPC, no TLS)`;
  const parts = [s.TEMPORAL_TLS_CA ? `server checked against the CA in ${s.TEMPORAL_TLS_CA}` : "server checked against the system's CAs"];
  if (s.TEMPORAL_TLS_SERVER_NAME) parts.push(`as ${s.TEMPORAL_TLS_SERVER_NAME}`);
  if (s.TEMPORAL_TLS_CERT) {
    let who = s.TEMPORAL_TLS_CERT;
    try {
      const cert = readTlsFiles(s).client?.cert;
      if (cert) who = `CN=${subjectCn(cert)}, valid until ${day(cert.validTo)}, from ${s.TEMPORAL_TLS_CERT}`;
    } catch {
      // Described by name only; the config check reports what is wrong with it.
    }
    parts.push(`client certificate ${who}`);
  }
  if (s.TEMPORAL_API_KEY) parts.push('API key');
  return `${s.TEMPORAL_ADDRESS} over TLS (${parts.join('; ')})`;
}

/** The client certificate's problem of time, if any (expired, or not valid yet), for validate-config. */
export function clientCertificateValidity(s: TemporalConnectionSettings, now = new Date()): { problem?: string; validTo?: string } {
  const cert = s.TEMPORAL_TLS_CERT && s.TEMPORAL_TLS_KEY ? readTlsFiles(s).client?.cert : undefined;
  if (!cert) return {};
  if (new Date(cert.validTo) < now) return { problem: `the client certificate in TEMPORAL_TLS_CERT expired on ${day(cert.validTo)}`, validTo: cert.validTo };
  if (new Date(cert.validFrom) > now)
    return { problem: `the client certificate in TEMPORAL_TLS_CERT is valid only from ${day(cert.validFrom)}`, validTo: cert.validTo };
  return { validTo: cert.validTo };
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = (at < 0 ? address : address.slice(0, at)).replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port: at < 0 ? 7233 : Number(address.slice(at + 1)) };
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
/** TLS alerts a server sends when it does not take the client's certificate (or gets none). */
const CLIENT_CERT_REFUSED =
  /ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE)$/;

/** One sentence for a failed TLS handshake with these settings: what is wrong and which setting fixes it. */
export function explainTlsFailure(err: unknown, s: TemporalConnectionSettings): string {
  const code = errorCode(err) ?? '';
  const { host } = splitAddress(s.TEMPORAL_ADDRESS);
  if (UNTRUSTED.has(code)) {
    return s.TEMPORAL_TLS_CA
      ? `TLS handshake failed: the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (${code})`
      : `TLS handshake failed: the server's certificate is not signed by a CA this system trusts (${code}); for a private CA set TEMPORAL_TLS_CA`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `TLS handshake failed: the server's certificate has expired (${code})`;
  if (code === 'CERT_NOT_YET_VALID') return `TLS handshake failed: the server's certificate is not valid yet (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const name = s.TEMPORAL_TLS_SERVER_NAME ?? host;
    return `TLS handshake failed: the server's certificate is not for ${name} (${(err as { reason?: string }).reason ?? code}); set TEMPORAL_TLS_SERVER_NAME to a name it carries`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/.test(code)) {
    return `TLS handshake failed: the server does not speak TLS on this port (${code}); for a plain gRPC frontend unset TEMPORAL_TLS and the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings`;
  }
  if (CLIENT_CERT_REFUSED.test(code)) {
    return s.TEMPORAL_TLS_CERT
      ? `TLS handshake failed: the server refused the client certificate in TEMPORAL_TLS_CERT (${code}); is it issued by a CA the server (or namespace) accepts, and still valid?`
      : `TLS handshake failed: the server requires a client certificate (mTLS) (${code}); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return s.TEMPORAL_TLS_CERT
      ? `the server closed the TLS connection (${code}); it may not take the client certificate in TEMPORAL_TLS_CERT`
      : `the server closed the TLS connection (${code}); it may require a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY)`;
  }
  return `TLS connection failed: ${(err as Error)?.message ?? String(err)}${code ? ` (${code})` : ''}`;
}

export type TlsProbeResult = { ok: true } | { ok: false; reason: string };

/**
 * A TLS handshake with exactly the configured settings (CA, client certificate, server name,
 * ALPN h2), then the HTTP/2 preface, waiting for the server's first frame: a refused client
 * certificate shows only after the handshake in TLS 1.3. The SDK's own errors for all of these are
 * "Failed to connect before the deadline" (client) or a transport error (worker); this says which.
 */
export function probeTemporalTls(s: TemporalConnectionSettings, timeoutMs = 5000): Promise<TlsProbeResult> {
  const { host, port } = splitAddress(s.TEMPORAL_ADDRESS);
  let files: TlsFiles;
  try {
    files = readTlsFiles(s);
  } catch (err) {
    return Promise.resolve({ ok: false, reason: (err as Error).message });
  }
  const servername = s.TEMPORAL_TLS_SERVER_NAME ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    let settled = false;
    const socket = tls.connect({
      host,
      port,
      servername,
      ALPNProtocols: ['h2'],
      ...(files.ca ? { ca: files.ca.pem } : {}),
      ...(files.client ? { cert: files.client.crt, key: files.client.key } : {}),
    });
    const done = (result: TlsProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `no TLS answer from ${s.TEMPORAL_ADDRESS} within ${timeoutMs} ms` }), timeoutMs);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        done({
          ok: false,
          reason: `the TLS server at ${s.TEMPORAL_ADDRESS} does not offer HTTP/2 (ALPN h2), which gRPC needs; is it a proxy that does not pass gRPC through?`,
        });
        return;
      }
      // An HTTP/2 server sends its SETTINGS first; a server refusing the client certificate sends
      // an alert instead. Writing before either arrives would turn that alert into a bare reset, so
      // the client preface (and an empty SETTINGS frame) goes out only if the server keeps quiet.
      const nudge = setTimeout(() => {
        if (!settled) socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      }, 500);
      socket.once('close', () => clearTimeout(nudge));
    });
    socket.once('data', () => done({ ok: true }));
    socket.once('error', (err) => done({ ok: false, reason: explainTlsFailure(err, s) }));
    socket.once('end', () => done({ ok: false, reason: explainTlsFailure(Object.assign(new Error('closed'), { code: 'ECONNRESET' }), s) }));
  });
}

/** Whether a server answers a TLS handshake at all (any certificate): for a plain-gRPC config pointed at a TLS port. */
export function speaksTls(address: string, timeoutMs = 3000): Promise<boolean> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    // A server that wants a client certificate still completed the TLS 1.2 handshake far enough to say so.
    socket.once('error', (err) => done(CLIENT_CERT_REFUSED.test(errorCode(err) ?? '')));
  });
}

/** Why a connection failed, in terms of the settings: TLS handshake problems, refused credentials, or plain unreachability. */
export async function connectFailureReason(err: unknown, settings: TemporalConnectionSettings): Promise<string> {
  const grpc = grpcCode(err);
  if (grpc === 16)
    return `Temporal refused the credentials (${grpcMessage(err)}); check TEMPORAL_API_KEY${settings.TEMPORAL_TLS_CERT ? ' / TEMPORAL_TLS_CERT' : ''}`;
  if (grpc === 7) return `Temporal denied access (${grpcMessage(err)}); the API key or certificate lacks a role on this namespace`;
  const refused = await tcpFailure(settings.TEMPORAL_ADDRESS);
  if (refused) return `cannot reach ${settings.TEMPORAL_ADDRESS} (${refused})`;
  if (tlsOn(settings)) {
    const probe = await probeTemporalTls(settings).catch(() => undefined);
    if (probe && !probe.ok) return probe.reason;
  } else if (await speaksTls(settings.TEMPORAL_ADDRESS).catch(() => false)) {
    return `${settings.TEMPORAL_ADDRESS} speaks TLS but the app dials plain gRPC: set TEMPORAL_TLS=true (and TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY or TEMPORAL_API_KEY as it needs)`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The system error code of a plain TCP connect (ECONNREFUSED, ENOTFOUND, ETIMEDOUT...), or undefined when it connects. */
function tcpFailure(address: string, timeoutMs = 3000): Promise<string | undefined> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (code: string | undefined) => {
      socket.destroy();
      resolve(code);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(errorCode(err) ?? err.message));
  });
}

/** The gRPC status code of a failed call, wherever the SDK put it (the error or its cause). */
function grpcCode(err: unknown): number | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'number') return e.code;
  }
  // The worker's native connection reports it only in words.
  const text = String((err as Error)?.message ?? err);
  if (/does not have valid authentication credentials|UNAUTHENTICATED/i.test(text)) return 16;
  if (/PERMISSION_DENIED|permission denied/i.test(text)) return 7;
  return undefined;
}

function grpcMessage(err: unknown): string {
  let last = err as { message?: string; cause?: unknown } | undefined;
  while (last?.cause) last = last.cause as typeof last;
  return String(last?.message ?? err);
}
