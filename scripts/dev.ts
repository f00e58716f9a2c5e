/**
 * `npm run dev`: everything on one machine with one command (SPEC 3.1). Starts a Temporal dev
 * server when none answers and an embedded Postgres (PGlite) when nothing answers at
 * DATABASE_URL, migrates, runs worker and API, prints where everything is, and stops what it
 * started on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateDevApiKey } from '../src/api/auth';
import { loadConfigOrExit } from '../src/config';
import { migrateToLatest } from '../src/db/migrate';
import { describeLlm } from '../src/llm/offline-responder';
import { describeTemporalConnection } from '../src/temporal/connection-options';
import { postgresAnswers, redactUrl, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { ROOT, ensureTemporalCli, isListening, parseAddress, startDevServer, type DevServer } from './temporal-cli';
import { writeDevInfo } from './chat/dev-info';

const say = (line: string) => console.log(`[dev] ${line}`);

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const children: ChildProcess[] = [];
  let temporal: DevServer | undefined;
  let embedded: EmbeddedPostgres | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await temporal?.stop();
    await embedded?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const { host, port } = parseAddress(config.TEMPORAL_ADDRESS);
  if (await isListening(host, port)) {
    say(`using the Temporal server already at ${describeTemporalConnection(config)}`);
  } else if (config.TEMPORAL_TLS) {
    // The dev server speaks plain gRPC only: starting one would not answer these settings.
    say(
      `nothing answers at ${config.TEMPORAL_ADDRESS}, and the TLS settings (TEMPORAL_TLS, TEMPORAL_TLS_*, TEMPORAL_API_KEY) point at a Temporal of your own;`,
    );
    say('start it (or check the address), or unset those settings to let npm run dev start a local dev server');
    process.exit(1);
  } else {
    const binary = ensureTemporalCli(say);
    say(`starting a Temporal dev server on ${config.TEMPORAL_ADDRESS} (state in .data/temporal.db)`);
    temporal = await startDevServer(binary, { port, uiPort: 8233, dbFile: path.join(ROOT, '.data', 'temporal.db') });
    temporal.process.once('exit', (code) => {
      if (!stopping) {
        say(`the Temporal dev server exited (${code}); stopping`);
        void stopAll(1);
      }
    });
  }

  let databaseUrl = config.DATABASE_URL;
  try {
    if (await postgresAnswers(databaseUrl)) {
      say(`using the Postgres at ${redactUrl(databaseUrl)}`);
    } else {
      // Nothing to talk to: Postgres in this process (PGlite), on a free port so it is never mistaken
      // for a real server at the usual address (npm test, psql, a Postgres started later).
      embedded = await startEmbeddedPostgres({ dataDir: path.join(ROOT, '.data', 'pglite') });
      databaseUrl = embedded.url;
      say(`no Postgres at ${redactUrl(config.DATABASE_URL)}: started embedded PGlite (data in .data/pglite) at ${databaseUrl}`);
    }
    const { created, applied } = await migrateToLatest(databaseUrl);
    say(`${created ? 'created the database; ' : ''}${applied.length ? `applied ${applied.length} migration(s)` : 'schema up to date'}`);
  } catch (err) {
    say(`cannot prepare Postgres at ${redactUrl(databaseUrl)}: ${(err as Error).message}`);
    say('start Postgres (or set DATABASE_URL) and run npm run dev again');
    await temporal?.stop();
    await embedded?.stop();
    process.exit(1);
  }

  const apiKey = config.API_KEYS[0]?.secret ?? generateDevApiKey();
  const admin = devAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    API_KEYS: process.env.API_KEYS || `${apiKey}:admin`,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    // Sign-ins survive API restarts within one dev run.
    JWT_SECRET: process.env.JWT_SECRET || randomBytes(32).toString('hex'),
  };
  for (const name of ['worker', 'api'] as const) {
    // Loaded as a loader rather than through the tsx CLI: one process per child, signals reach it directly.
    const child = spawn(process.execPath, ['--import', 'tsx', `src/${name}/main.ts`], { cwd: ROOT, env, stdio: 'inherit' });
    child.once('exit', (code) => {
      if (!stopping) {
        say(`${name} exited (${code}); stopping`);
        void stopAll(1);
      }
    });
    children.push(child);
  }

  const api = `http://127.0.0.1:${config.PORT}`;
  writeDevInfo({ api, apiKey: env.API_KEYS.split(',')[0]!.split(':')[0]! }); // npm run chat finds the API and key here
  // A fresh wamid and timestamp each time it is run: a repeated wamid is (rightly) ignored, and an
  // old timestamp would fall outside the 24 h window.
  const body =
    `'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"contacts":[{"wa_id":"15550001111","profile":{"name":"Test User"}}],` +
    `"messages":[{"from":"15550001111","id":"wamid.dev-'$(date +%s%N)'","timestamp":"'$(date +%s)'","type":"text","text":{"body":"Hello!"}}]}}]}]}'`;
  const signature = config.WHATSAPP_APP_SECRET
    ? ` -H "X-Hub-Signature-256: sha256=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$WHATSAPP_APP_SECRET" | sed 's/^.* //')"`
    : '';
  console.log(`
  API            ${api}   (health: ${api}/health)
  API docs       ${api}/docs   (OpenAPI: ${api}/openapi.json)
  Temporal UI    http://127.0.0.1:8233   (filter: ChatMode="operator" or NeedsHuman=true)
  API key        ${env.API_KEYS.split(',')[0]!.split(':')[0]}   (admin)
  Admin login    ${admin.email} / ${admin.shown}   (POST ${api}/api/v1/auth/login)
  WhatsApp out   ${config.WHATSAPP_PROVIDER === 'console' ? 'console: replies are printed here, nothing is sent' : config.WHATSAPP_PROVIDER}
  Postgres       ${embedded ? `embedded PGlite at ${databaseUrl}   (data in .data/pglite; set DATABASE_URL for your own Postgres)` : redactUrl(databaseUrl)}
  LLM            ${config.OPENAI_API_KEY ? describeLlm({ apiKey: config.OPENAI_API_KEY, model: config.OPENAI_MODEL, baseUrl: config.OPENAI_BASE_URL }) : 'offline responder (set OPENAI_API_KEY for real answers)'}

  Chat as a WhatsApp user:   npm run chat   (in another terminal)
  Or send a test message as WhatsApp would (paste both lines; run again for another message):
    BODY=${body}
    curl -s ${api}/webhooks/whatsapp -H 'content-type: application/json'${signature} -d "$BODY"
  Then take over / hand back:
    curl -s ${api}/api/v1/takeover -H "authorization: Bearer ${env.API_KEYS.split(',')[0]!.split(':')[0]}" -H 'content-type: application/json' -d '{"phone":"15550001111"}'

  Ctrl-C stops everything this command started.
`);
}

/**
 * The dev admin user: ADMIN_EMAIL/ADMIN_PASSWORD when set, else admin@localhost with a password
 * made once and kept under .data/ (the user lives on in the database across runs).
 */
function devAdmin(email: string | undefined, password: string | undefined): { email: string; password: string; shown: string } {
  if (email && password) return { email, password, shown: '(ADMIN_PASSWORD)' };
  const file = path.join(ROOT, '.data', 'dev-admin-password');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(12).toString('base64url'), { mode: 0o600 });
  }
  const saved = readFileSync(file, 'utf8').trim();
  return { email: 'admin@localhost', password: saved, shown: saved };
}

main().catch((err: unknown) => {
  console.error(`[dev] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
