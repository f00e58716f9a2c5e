import { sql } from 'kysely';
import { temporal as proto } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { namespaceExists, searchAttributeStatus } from '../temporal/search-attributes';
import { allSearchAttributeKeys } from '../workflows/search-attributes';
import type { AppDeps } from './deps';

/**
 * What /health and /ready report: the API can take a webhook only when Postgres and Temporal
 * answer, the namespace exists, it has the search attributes every chat starts with, and a worker
 * is polling the task queue now. Each is checked with a short deadline; none throws.
 */
export interface Readiness {
  ready: boolean;
  checks: {
    database: 'connected' | 'disconnected';
    temporal: 'connected' | 'disconnected';
    namespace: string;
    search_attributes: string;
    workers: string;
  };
}

const CHECK_TIMEOUT_MS = 2000;
/**
 * A live worker long-polls without pause (each poll lasts up to about a minute), so its poller was
 * seen within this; the server keeps a dead worker's poller listed for five minutes.
 */
export const LIVE_POLLER_MS = 90_000;
/** Once the namespace and its attributes are there they stay; while anything is missing, every call looks again. */
const RECHECK_OK_MS = 60_000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), CHECK_TIMEOUT_MS).unref())]);
}

export function readinessChecker(deps: Pick<AppDeps, 'db' | 'temporal' | 'taskQueue'>): () => Promise<Readiness> {
  const { temporal } = deps;
  const namespace = temporal.options.namespace;
  let namespaceOkUntil = 0;
  const deadline = <T>(fn: () => Promise<T>) => temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, fn);

  /** "registered"/"found", or what is missing: without them every webhook's signal-with-start fails. */
  async function namespaceAndAttributes(): Promise<{ namespace: string; attributes: string }> {
    if (Date.now() < namespaceOkUntil) return { namespace: 'found', attributes: 'registered' };
    if (!(await deadline(() => namespaceExists(temporal, namespace)))) {
      return { namespace: `missing: ${namespace} (create it; see README, Running in production)`, attributes: 'unknown (no namespace)' };
    }
    const { missing, mistyped } = await deadline(() => searchAttributeStatus(temporal.connection as Connection, namespace, allSearchAttributeKeys));
    if (missing.length + mistyped.length === 0) {
      namespaceOkUntil = Date.now() + RECHECK_OK_MS;
      return { namespace: 'found', attributes: 'registered' };
    }
    const attributes = [missing.length ? `missing: ${missing.join(', ')}` : '', mistyped.length ? `wrong type: ${mistyped.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    return { namespace: 'found', attributes };
  }

  async function livePollers(): Promise<number> {
    const described = await deadline(() =>
      temporal.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: deps.taskQueue },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    const now = Date.now();
    return (described.pollers ?? []).filter((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return now - seconds * 1000 < LIVE_POLLER_MS;
    }).length;
  }

  return async () => {
    const [database, server, names, pollers] = await Promise.allSettled([
      withTimeout(sql`select 1`.execute(deps.db), 'database'),
      deadline(() => temporal.workflowService.getSystemInfo({})),
      namespaceAndAttributes(),
      livePollers(),
    ]);
    const temporalUp = server.status === 'fulfilled';
    const found = names.status === 'fulfilled' ? names.value : undefined;
    const live = pollers.status === 'fulfilled' ? pollers.value : undefined;
    const checks: Readiness['checks'] = {
      database: database.status === 'fulfilled' ? 'connected' : 'disconnected',
      temporal: temporalUp ? 'connected' : 'disconnected',
      namespace: found?.namespace ?? 'unknown (Temporal did not answer)',
      search_attributes: found?.attributes ?? 'unknown (Temporal did not answer)',
      workers: live === undefined ? 'unknown' : live > 0 ? `${live} polling ${deps.taskQueue}` : `no workers polling ${deps.taskQueue}`,
    };
    const ready = checks.database === 'connected' && temporalUp && found?.namespace === 'found' && found.attributes === 'registered' && (live ?? 0) > 0;
    return { ready, checks };
  };
}
