import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import type { Logger } from '../logger';
import {
  connectFailureReason,
  describeTemporalConnection,
  type TemporalConnectionOptions,
  type TemporalConnectionSettings,
} from '../temporal/connection-options';
import { namespaceExists, registerSearchAttributes, searchAttributeStatus } from '../temporal/search-attributes';
import { allSearchAttributeKeys } from '../workflows/search-attributes';

/**
 * Gets the worker's namespace ready before it polls, the same way on a laptop, a fresh
 * docker-compose (the namespace is created by a setup container a little after the server is up),
 * a self-hosted cluster and Temporal Cloud (where the worker may not change the namespace):
 * 1. waits for Temporal to answer and for the namespace to exist, saying how to create it;
 * 2. with `manage` (TEMPORAL_MANAGE_NAMESPACE, the default) adds the search attributes it lacks;
 *    without, names exactly what is missing with the commands that add it, and waits;
 * 3. refuses to start, with a clear message, when an attribute exists with another type or the
 *    visibility store has no room left for one (neither fixes itself by waiting).
 */
export async function prepareNamespace(opts: {
  /** temporalConnectionOptions(config): address, TLS, API key. */
  connection: TemporalConnectionOptions;
  /** The settings they came from, to explain a TLS failure by setting. */
  settings: TemporalConnectionSettings;
  namespace: string;
  manage: boolean;
  log: Logger;
  retryMs?: number;
}): Promise<Connection> {
  const { namespace, log } = opts;
  const retryMs = opts.retryMs ?? 5000;
  const connection = await connectWhenUp(opts.connection, opts.settings, log, retryMs);
  for (let attempt = 0; !(await namespaceExists(connection, namespace)); attempt++) {
    if (attempt % 12 === 0) {
      log.warn(
        { namespace, create: `temporal operator namespace create --namespace ${namespace} --retention 30d` },
        `namespace ${namespace} does not exist yet; waiting for it (docker compose creates it at first start; elsewhere create it, see README "Running in production")`,
      );
    }
    await sleep(retryMs);
  }
  for (let attempt = 0; ; attempt++) {
    const { missing, mistyped } = await searchAttributeStatus(connection, namespace, allSearchAttributeKeys);
    if (mistyped.length > 0) {
      throw new Error(
        `namespace ${namespace} has search attributes ${mistyped.join(', ')} with another type than this product needs (${describe(mistyped)}); ` +
          'a search attribute cannot change type: use another namespace, or remove and re-create them',
      );
    }
    if (missing.length === 0) return connection;
    if (opts.manage) {
      const added = await addSearchAttributes(connection, namespace, missing);
      log.info({ added }, 'registered search attributes');
      continue;
    }
    if (attempt % 12 === 0) {
      log.error(
        { namespace, missing: describe(missing), temporal_cli: commands(namespace, missing, 'cli'), tcld: commands(namespace, missing, 'tcld') },
        `namespace ${namespace} lacks search attributes ${missing.join(', ')} and TEMPORAL_MANAGE_NAMESPACE is off; add them (commands logged here), the worker starts once they exist`,
      );
    }
    await sleep(retryMs);
  }
}

async function connectWhenUp(options: TemporalConnectionOptions, settings: TemporalConnectionSettings, log: Logger, retryMs: number): Promise<Connection> {
  const address = options.address;
  for (let attempt = 0; ; attempt++) {
    try {
      return await Connection.connect(options);
    } catch (err) {
      if (attempt % 12 === 0) {
        // The SDK says little more than "Failed to connect before the deadline"; say why when we can.
        const reason = await connectFailureReason(err, settings);
        log.warn({ err: String(err), address, temporal: describeTemporalConnection(settings), reason }, `Temporal does not answer yet (${reason}); retrying`);
      }
      await sleep(retryMs);
    }
  }
}

async function addSearchAttributes(connection: Connection, namespace: string, missing: string[]): Promise<string[]> {
  try {
    return await registerSearchAttributes(connection, namespace, allSearchAttributeKeys);
  } catch (err) {
    const message = (err as Error).message;
    // SQL visibility allows a few custom attributes per type (e.g. 3 Bool); others may have used them.
    if (/cannot have more than|limit|exceed/i.test(message)) {
      throw new Error(
        `the visibility store of namespace ${namespace} has no room for ${describe(missing)} (${message}). ` +
          'Remove custom search attributes this namespace does not need, or use another namespace; this product needs ' +
          describe(allSearchAttributeKeys.map((k) => k.name)),
      );
    }
    throw err;
  }
}

/** Names as the temporal CLI and tcld spell the types. */
const TYPE_NAMES: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

const typeOf = (name: string) => TYPE_NAMES[allSearchAttributeKeys.find((k) => k.name === name)!.type];

function describe(names: string[]): string {
  return names.map((n) => `${n} (${typeOf(n)})`).join(', ');
}

/** The commands that add them: the temporal CLI for a cluster you run, tcld for Temporal Cloud. */
export function commands(namespace: string, names: string[], tool: 'cli' | 'tcld'): string[] {
  return names.map((n) =>
    tool === 'cli'
      ? `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${typeOf(n)}`
      : `tcld namespace search-attributes add --namespace ${namespace} --search-attribute "${n}=${typeOf(n)}"`,
  );
}
