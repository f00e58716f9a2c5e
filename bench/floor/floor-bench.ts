/**
 * The bench's side of the minimal chat actor (issue 14, "measure the floor first"): its worker runs
 * only around the floor phases, so it never competes with the product's; and its way in is a bare
 * signal-with-start from the bench's own Temporal client. There is no API in front of the floor,
 * so its figures leave out the webhook hop the product's include.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { chatModeKey, needsHumanKey, whatsAppPhoneKey } from '../../src/workflows/search-attributes';
import type { CpuMeter } from '../cpu';
import type { ReplyTracker } from '../replies';
import { killOnExit, ROOT } from '../setup';
import type { Post } from '../webhook-load';
import { FLOOR_TASK_QUEUE, FLOOR_WORKFLOW_TYPE, floorMessageSignal, floorWorkflowId, type FloorMessage } from './floor-definitions';
import type { floorChatWorkflow } from './floor-workflow';

/**
 * The floor's way in. The same search attributes as the product's signal-with-start
 * (src/temporal/chat-signals.ts), so starting a chat costs the server the same; none later.
 */
export function floorPost(client: Client, settings: { debounceMs: number; maxWaitMs: number }): Post {
  return (waId, text) =>
    client.workflow
      .signalWithStart<typeof floorChatWorkflow, [FloorMessage]>(FLOOR_WORKFLOW_TYPE, {
        workflowId: floorWorkflowId(waId),
        taskQueue: FLOOR_TASK_QUEUE,
        args: [{ waId, ...settings }],
        signal: floorMessageSignal,
        signalArgs: [{ text }],
        typedSearchAttributes: [
          { key: whatsAppPhoneKey, value: waId },
          { key: chatModeKey, value: 'bot' },
          { key: needsHumanKey, value: false },
        ],
      })
      .then(
        () => 200,
        () => 0,
      );
}

let logFlags: 'w' | 'a' = 'w';

/** Spawns bench/floor/floor-worker.ts under tsx, as setup.ts spawns the product worker; resolves once it is built. */
async function startFloorWorker(childEnv: NodeJS.ProcessEnv): Promise<{ pid: number | undefined; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'floor', 'floor-worker.ts')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', openSync(path.join(ROOT, '.data', 'bench-floor-worker.log'), logFlags), 'inherit', 'ipc'],
  });
  logFlags = 'a';
  killOnExit(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void exited.then(() => reject(new Error('the floor worker exited before it was ready (see .data/bench-floor-worker.log)')));
  });
  return {
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

export interface FloorSessionOptions {
  childEnv: NodeJS.ProcessEnv;
  client: Client;
  tracker: ReplyTracker;
  meter: CpuMeter;
  settings: { debounceMs: number; maxWaitMs: number };
  /** Digits that start the warm-up chats' wa_ids. */
  warmPrefix: string;
}

/**
 * Starts the floor worker (counted as `floor` by the CPU meter), warms it as the product worker is
 * warmed (5 messages answered), runs `phase` with the floor's way in, and stops the worker.
 */
export async function withFloorWorker<T>(opts: FloorSessionOptions, phase: (post: Post) => Promise<T>): Promise<T> {
  const worker = await startFloorWorker(opts.childEnv);
  opts.meter.track('floor', worker.pid);
  try {
    const post = floorPost(opts.client, opts.settings);
    const warm = Array.from({ length: 5 }, () => opts.tracker.newText());
    for (const [i, text] of warm.entries()) {
      opts.tracker.sent(text);
      await post(`${opts.warmPrefix}0000${i}`, text);
    }
    const open = await opts.tracker.settled(warm, 30_000);
    if (open > 0) throw new Error(`the floor worker left ${open} of 5 warm-up messages unanswered`);
    return await phase(post);
  } finally {
    await worker.stop();
    opts.meter.track('floor', undefined);
  }
}
