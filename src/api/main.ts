import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/database';
import { createLogger } from '../logger';
import { createApp } from './app';
import { generateDevApiKey } from './auth';
import { version } from '../../package.json';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'api');

  let apiKeys = config.API_KEYS;
  if (apiKeys.length === 0) {
    // Only reachable outside production (config requires API_KEYS there).
    const secret = generateDevApiKey();
    apiKeys = [{ secret, role: 'admin' }];
    log.warn(`API_KEYS is not set; this run's admin key: ${secret}`);
  }
  if (!config.WHATSAPP_APP_SECRET) {
    log.warn('WHATSAPP_APP_SECRET is not set: webhook signatures are NOT verified (development only)');
  }

  const db = createDb(config.DATABASE_URL);
  // Connection.lazy lets the API start (and report 503 on /health) while Temporal is still coming up.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({
    db,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    log,
    apiKeys,
    whatsapp: { appSecret: config.WHATSAPP_APP_SECRET, verifyToken: config.WHATSAPP_VERIFY_TOKEN },
    version,
  });

  const server = app.listen(config.PORT, () => log.info({ port: config.PORT }, `API listening on http://127.0.0.1:${config.PORT}`));
  server.on('error', (err) => {
    log.fatal({ err }, 'API could not listen');
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close(() => {
      void Promise.allSettled([connection.close(), db.destroy()]).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`api: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
