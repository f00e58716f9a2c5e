import type { Client } from '@temporalio/client';
import type { Db } from '../db/database';
import type { Logger } from '../logger';
import type { ApiKey } from './auth';

export interface AppDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  apiKeys: ApiKey[];
  whatsapp: {
    /** Undefined only outside production: then webhook signatures are not checked. */
    appSecret?: string;
    verifyToken?: string;
  };
  version: string;
  /** How long a webhook waits for Temporal before answering 5xx so Meta retries. */
  temporalTimeoutMs?: number;
}
