import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (tests build one and share it); otherwise the workflows are bundled here. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Chats kept in memory (WORKER_MAX_CACHED_WORKFLOWS); an evicted chat is rebuilt from its history when it next wakes. */
  maxCachedWorkflows?: number;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createWorker({
  connection,
  namespace,
  taskQueue,
  deps,
  workflowBundle,
  maxCachedWorkflows = 1000,
}: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    activities: createActivities(deps),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Chats are long-lived and mostly idle: the most recently active stay cached (about 0.4 MiB
    // each), the rest are evicted and replayed from history when they next wake. 1,000 keeps a
    // worker with 10,000 open chats under 1 GiB (npm run bench).
    maxCachedWorkflows,
    // A chat's reply activity learns of a cancel (new messages to fold in, a takeover) only from a
    // heartbeat's answer; it heartbeats every 500 ms while it works, and this lets those through
    // (the default would hold them to 80 % of the 10 s heartbeat timeout).
    maxHeartbeatThrottleInterval: '500ms',
  });
}
