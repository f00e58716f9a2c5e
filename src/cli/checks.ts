import net from 'node:net';
import { Connection } from '@temporalio/client';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import pg from 'pg';
import { ConfigSchema, type Config } from '../config';
import { migrationStatus } from '../db/migrate';
import {
  clientCertificateValidity,
  connectFailureReason,
  describeTemporalConnection,
  probeTemporalTls,
  temporalConnectionOptions,
  type TemporalConnectionOptions,
} from '../temporal/connection-options';
import { searchAttributeStatus } from '../temporal/search-attributes';
import { allSearchAttributeKeys } from '../workflows/search-attributes';
import { fail, pass, reason, skip, warn, withTimeout, type CheckResult } from './report';
import { lookupMetaNumber } from '../numbers/check-number';

const TIMEOUT_MS = 8000;

/** Every bad variable, one line each; the config itself when there are none. */
export function checkConfig(env: NodeJS.ProcessEnv): { config?: Config; results: CheckResult[] } {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    return { results: parsed.error.issues.map((i) => fail('config', `${i.path.join('.') || 'environment'} ${i.message}`)) };
  }
  const c = parsed.data;
  const detail =
    `environment parsed (${c.NODE_ENV}; WhatsApp provider ${c.WHATSAPP_PROVIDER}; database ${databaseName(c.DATABASE_URL)}; ` +
    `Temporal ${describeTemporalConnection(c)}, namespace ${c.TEMPORAL_NAMESPACE}, task queue ${c.TEMPORAL_TASK_QUEUE})`;
  return { config: c, results: [pass('config', detail)] };
}

/** host:port/name, never the password. */
function databaseName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

const errorCode = (err: unknown) => (err as { code?: unknown }).code;
/** A system error by its code (ECONNREFUSED, ENOTFOUND...), anything else by its message. */
const shortReason = (err: unknown): string => {
  // Not instanceof Error: errors from another realm (a test runner's sandbox) count too.
  for (let e = err as { cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    const code = errorCode(e);
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return reason(err);
};

export async function checkDatabase(config: Config): Promise<CheckResult[]> {
  const where = databaseName(config.DATABASE_URL);
  const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await withTimeout(client.connect(), TIMEOUT_MS, 'Postgres');
    await client.query('select 1');
  } catch (err) {
    const code = errorCode(err);
    const why =
      code === '3D000'
        ? `database ${where} does not exist (npm run migrate creates it)`
        : code === '28P01' || code === '28000'
          ? `${where} refused the credentials in DATABASE_URL (${code})`
          : `cannot connect to ${where} (${shortReason(err)})`;
    return [fail('database', why), skip('migrations', 'not checked without a database connection')];
  } finally {
    await withTimeout(client.end(), 2000, 'Postgres').catch(() => undefined);
  }
  const results = [pass('database', `connected to ${where}`)];
  try {
    const { applied, pending } = await withTimeout(migrationStatus(config.DATABASE_URL), TIMEOUT_MS, 'Postgres');
    results.push(
      pending.length
        ? fail('migrations', `${pending.length} not applied (${pending.join(', ')}): run npm run migrate`)
        : pass('migrations', `up to date (${applied.length} applied, latest ${applied[applied.length - 1]})`),
    );
  } catch (err) {
    results.push(fail('migrations', `could not read the migration table: ${reason(err)}`));
  }
  return results;
}

/** How the connection is secured, for the PASS line: nothing for plain gRPC. */
function securedBy(config: Config): string {
  if (!config.TEMPORAL_TLS) return '';
  const auth = [config.TEMPORAL_TLS_CERT ? 'a client certificate' : '', config.TEMPORAL_API_KEY ? 'an API key' : ''].filter(Boolean);
  return ` over ${config.TEMPORAL_TLS_CERT ? 'mTLS' : 'TLS'}${auth.length ? ` with ${auth.join(' and ')}` : ''}`;
}

export async function checkTemporal(config: Config): Promise<CheckResult[]> {
  const { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace } = config;
  const unreachable = (why: string) => [fail('temporal', why), skip('search attributes', 'Temporal is not reachable')];
  let options: TemporalConnectionOptions;
  let connection: Connection;
  const early: CheckResult[] = [];
  try {
    options = temporalConnectionOptions(config);
    const { problem, validTo } = clientCertificateValidity(config);
    if (problem) return unreachable(problem);
    const daysLeft = validTo ? (new Date(validTo).getTime() - Date.now()) / 86_400_000 : Infinity;
    if (validTo && daysLeft < 14) {
      const days = Math.floor(daysLeft);
      early.push(
        warn(
          'temporal tls',
          `the client certificate in TEMPORAL_TLS_CERT expires on ${new Date(validTo).toISOString().slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'}); renew it`,
        ),
      );
    }
  } catch (err) {
    return unreachable((err as Error).message);
  }
  try {
    // A plain TCP connect first: a refused port is reported as such, at once.
    await tcpProbe(address);
  } catch (err) {
    return unreachable(`cannot connect to ${address} (${shortReason(err)})`);
  }
  if (config.TEMPORAL_TLS) {
    // The handshake on its own: the SDK reports every TLS problem as "Failed to connect before the deadline".
    const probe = await probeTemporalTls(config);
    if (!probe.ok) return unreachable(`${address}: ${probe.reason}`);
  }
  try {
    connection = await withTimeout(Connection.connect({ ...options, connectTimeout: 5000 }), TIMEOUT_MS, 'Temporal');
  } catch (err) {
    return unreachable(`cannot connect to ${address} (${await connectFailureReason(err, config)})`);
  }
  try {
    const deadline = () => Date.now() + 5000;
    try {
      await connection.withDeadline(deadline(), () => connection.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      // gRPC NOT_FOUND
      if (errorCode(err) === 5) {
        return [
          fail('temporal', `${address} is reachable but has no namespace "${namespace}" (temporal operator namespace create ${namespace})`),
          skip('search attributes', 'no namespace'),
        ];
      }
      // UNAUTHENTICATED, PERMISSION_DENIED: the credentials, not the namespace.
      if (errorCode(err) === 16 || errorCode(err) === 7) {
        return [
          fail('temporal', `${address}${securedBy(config)}: ${await connectFailureReason(err, config)}`),
          skip('search attributes', 'no access to the namespace'),
        ];
      }
      throw err;
    }
    const results = [...early, pass('temporal', `${address} reachable${securedBy(config)}, namespace ${namespace} exists`)];
    const { missing, mistyped } = await connection.withDeadline(deadline(), () => searchAttributeStatus(connection, namespace, allSearchAttributeKeys));
    const names = allSearchAttributeKeys.map((k) => k.name).join(', ');
    results.push(
      mistyped.length
        ? fail('search attributes', `${mistyped.join(', ')} exist on ${namespace} with another type; the worker cannot fix that (remove and re-add them)`)
        : missing.length
          ? warn('search attributes', `${missing.join(', ')} not registered on ${namespace} yet; the worker registers them when it starts`)
          : pass('search attributes', `${names} registered on ${namespace}`),
    );
    return results;
  } catch (err) {
    return [fail('temporal', `${address}: ${reason(err)}`), skip('search attributes', 'Temporal did not answer')];
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function tcpProbe(address: string): Promise<void> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '') || '127.0.0.1';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(address.slice(at + 1)) });
    socket.setTimeout(5000, () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

interface ProviderError {
  error?: { message?: string; code?: number };
  message?: string;
  code?: number;
}

async function getJson(url: string, authorization: string): Promise<{ status: number; ok: boolean; body: Record<string, unknown> & ProviderError }> {
  const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown> & ProviderError;
  return { status: res.status, ok: res.ok, body };
}

/** The provider's credentials, with a read-only call each (nothing is sent). */
export async function checkWhatsApp(config: Config): Promise<CheckResult[]> {
  if (config.WHATSAPP_PROVIDER === 'console') {
    return [pass('whatsapp', 'console provider: outbound messages are logged and stored, nothing leaves the machine')];
  }
  if (config.WHATSAPP_PROVIDER === 'twilio') return [await checkTwilio(config)];
  return [await checkMeta(config), metaWebhook(config)];
}

/** The environment's number, with the same Graph lookup as the numbers added at run time (src/numbers/check-number.ts). */
async function checkMeta(config: Config): Promise<CheckResult> {
  const id = config.WHATSAPP_PHONE_NUMBER_ID!;
  const found = await lookupMetaNumber(config.WHATSAPP_API_BASE_URL, id, config.WHATSAPP_ACCESS_TOKEN, TIMEOUT_MS);
  if (found.ok) return pass('whatsapp', `meta: ${found.described}`);
  if ('unreachable' in found) return fail('whatsapp', `meta: cannot reach ${found.base} (${found.unreachable})`);
  if (found.tokenRefused) return fail('whatsapp', `meta: Graph API refused WHATSAPP_ACCESS_TOKEN (${found.what})`);
  return fail('whatsapp', `meta: Graph API answered ${found.what} for WHATSAPP_PHONE_NUMBER_ID ${id}`);
}

function metaWebhook(config: Config): CheckResult {
  const missing = [
    ...(config.WHATSAPP_APP_SECRET ? [] : ['WHATSAPP_APP_SECRET (signatures are not verified; required in production)']),
    ...(config.WHATSAPP_VERIFY_TOKEN ? [] : ['WHATSAPP_VERIFY_TOKEN (the GET verification handshake is refused)']),
  ];
  return missing.length
    ? warn('webhook', `not set: ${missing.join('; ')}`)
    : pass('webhook', 'signatures are verified with WHATSAPP_APP_SECRET; WHATSAPP_VERIFY_TOKEN is set');
}

async function checkTwilio(config: Config): Promise<CheckResult> {
  const base = config.TWILIO_API_BASE_URL.replace(/\/$/, '');
  const sid = config.TWILIO_ACCOUNT_SID!;
  try {
    const basic = Buffer.from(`${sid}:${config.TWILIO_AUTH_TOKEN}`).toString('base64');
    const { ok, status, body } = await getJson(`${base}/2010-04-01/Accounts/${sid}.json`, `Basic ${basic}`);
    if (ok) {
      const state = String(body.status ?? 'unknown');
      const name = typeof body.friendly_name === 'string' ? ` "${body.friendly_name}"` : '';
      if (state !== 'active') return fail('whatsapp', `twilio: account ${sid}${name} is ${state}`);
      return pass('whatsapp', `twilio: account ${sid}${name} is active; sending from ${config.TWILIO_WHATSAPP_FROM}`);
    }
    const what = `${status}${body.code ? ` code ${body.code}` : ''}: ${body.message ?? 'no error message'}`;
    if (status === 401 || status === 403) return fail('whatsapp', `twilio: Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (${what})`);
    return fail('whatsapp', `twilio: Twilio answered ${what}`);
  } catch (err) {
    return fail('whatsapp', `twilio: cannot reach ${base} (${shortReason(err)})`);
  }
}

/** A one-token call with the configured model: the key, the endpoint and the model in one go. */
export async function checkLlm(config: Config): Promise<CheckResult> {
  const base = config.OPENAI_BASE_URL;
  if (!config.OPENAI_API_KEY) {
    return warn('llm', 'OPENAI_API_KEY is not set: no LLM is called, the worker answers with the labelled offline responder');
  }
  const client = new OpenAI({ apiKey: config.OPENAI_API_KEY, baseURL: base, maxRetries: 0, timeout: TIMEOUT_MS });
  try {
    await client.chat.completions.create({
      model: config.OPENAI_MODEL,
      messages: [{ role: 'user', content: 'Reply with OK.' }],
      max_tokens: 1,
    });
    return pass('llm', `${base} answered a one-token test call with model ${config.OPENAI_MODEL}`);
  } catch (err) {
    if (err instanceof APIConnectionError) return fail('llm', `cannot reach ${base} (${shortReason(err)})`);
    if (err instanceof APIError && (err.status === 401 || err.status === 403)) {
      return fail('llm', `${base} refused OPENAI_API_KEY (${err.status}: ${err.message})`);
    }
    if (err instanceof APIError && err.status === 404) {
      return fail('llm', `${base} does not know model ${config.OPENAI_MODEL} or is not OpenAI-compatible (404: ${err.message})`);
    }
    return fail('llm', `${base}: ${reason(err)}`);
  }
}
