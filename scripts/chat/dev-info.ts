import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';

/** Where `npm run dev` leaves its API URL and key for `npm run chat` (git-ignored, owner-only). */
export const DEV_INFO_FILE = path.resolve(__dirname, '..', '..', '.data', 'dev.json');

export interface DevInfo {
  api: string;
  apiKey: string;
}

export function writeDevInfo(info: DevInfo, file = DEV_INFO_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ api: info.api, api_key: info.apiKey }, null, 2)}\n`, { mode: 0o600 });
}

export function readDevInfo(file = DEV_INFO_FILE): DevInfo | undefined {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { api?: unknown; api_key?: unknown };
    return typeof raw.api === 'string' && typeof raw.api_key === 'string' ? { api: raw.api, apiKey: raw.api_key } : undefined;
  } catch {
    return undefined;
  }
}

export interface ChatTarget {
  api: string;
  key?: string;
  /** Where the key came from, for a helpful message when the API refuses it. */
  keySource?: '--key' | 'API_KEYS' | DevInfoSource;
}
type DevInfoSource = '.data/dev.json';

/**
 * The API and key to use: flags first, then the environment as the API reads it (PORT, API_KEYS),
 * then what the last `npm run dev` wrote.
 */
export function chatTarget(
  flags: { api?: string; key?: string },
  config: Pick<Config, 'PORT' | 'API_KEYS'>,
  env: NodeJS.ProcessEnv,
  dev: DevInfo | undefined,
): ChatTarget {
  const api = (flags.api ?? (env.PORT?.trim() ? undefined : dev?.api) ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  if (flags.key) return { api, key: flags.key, keySource: '--key' };
  const fromEnv = config.API_KEYS[0]?.secret;
  if (fromEnv) return { api, key: fromEnv, keySource: 'API_KEYS' };
  if (dev) return { api, key: dev.apiKey, keySource: '.data/dev.json' };
  return { api };
}
