/**
 * Worker memory with many open idle chats: tops the number of running chat workflows up to the
 * target with new chats (one message each through the webhook, 32 posts in flight, refused posts delivered again), waits until
 * each is answered, lets them sit idle, then reads the worker process's VmRSS (and VmHWM, its peak
 * over the whole run) from /proc. The worker caches at most maxCachedWorkflows of them; the rest
 * are evicted and replayed from history when they next hear something.
 */
import { parseConfig } from '../src/config';
import type { Client } from '@temporalio/client';
import { CHAT_WORKFLOW_TYPE } from '../src/workflows/definitions';
import type { ReplyTracker } from './replies';
import { load1, processMemoryMiB, sleep } from './stats';
import { messageBody, postUntilAccepted } from './webhook-load';

export interface IdleMemoryResult {
  targetChats: number;
  /** Running chat workflows on the worker's task queue when RSS was read. */
  openChats: number;
  addedChats: number;
  unanswered: number;
  maxCachedWorkflows: number | undefined;
  workerRssMiB: number | undefined;
  workerPeakRssMiB: number | undefined;
  temporalServerRssMiB: number | undefined;
  loadAvg: number;
}

/** The worker's cache size: WORKER_MAX_CACHED_WORKFLOWS as the bench's worker gets it, or the config default. */
export function maxCachedWorkflows(): number | undefined {
  return parseConfig({ ...process.env, NODE_ENV: 'development' }).WORKER_MAX_CACHED_WORKFLOWS;
}

export async function idleMemory(opts: {
  apiUrl: string;
  client: Client;
  tracker: ReplyTracker;
  taskQueue: string;
  targetChats: number;
  idleMs: number;
  workerPid: number | undefined;
  temporalPid: number | undefined;
  prefix: string;
  log: (line: string) => void;
}): Promise<IdleMemoryResult> {
  const query = `WorkflowType="${CHAT_WORKFLOW_TYPE}" AND ExecutionStatus="Running" AND TaskQueue="${opts.taskQueue}"`;
  const open = async () => (await opts.client.workflow.count(query)).count;
  const toAdd = Math.max(0, opts.targetChats - (await open()));
  opts.log(`idle memory: adding ${toAdd} chats to reach ${opts.targetChats}...`);
  const url = `${opts.apiUrl}/webhooks/whatsapp`;
  const texts: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < toAdd) {
        const i = next++;
        const text = opts.tracker.newText();
        opts.tracker.sent(text);
        if ((await postUntilAccepted(url, messageBody(`${opts.prefix}${String(i).padStart(6, '0')}`, text))).status === 200) texts.push(text);
        else opts.tracker.forget(text);
      }
    }),
  );
  const unanswered = await opts.tracker.settled(texts, 600_000);
  await sleep(opts.idleMs);
  const worker = processMemoryMiB(opts.workerPid);
  return {
    targetChats: opts.targetChats,
    openChats: await open(),
    addedChats: texts.length,
    unanswered,
    maxCachedWorkflows: maxCachedWorkflows(),
    workerRssMiB: worker?.rssMiB,
    workerPeakRssMiB: worker?.peakRssMiB,
    temporalServerRssMiB: processMemoryMiB(opts.temporalPid)?.rssMiB,
    loadAvg: load1(),
  };
}
