/**
 * The faults the drills inject while the load runs. Each drill notes what it did and when
 * (`event`), so a loss or duplicate can be placed on the timeline.
 */
import type { ChildProcess } from 'node:child_process';
import { temporal as proto } from '@temporalio/proto';
import type { FakeGraph, GraphSend } from '../test/helpers/fake-graph';
import type { Fault } from '../test/helpers/http-fake';
import { FakeOpenAI } from '../test/helpers/fake-openai';
import type { TcpProxy } from '../test/helpers/tcp-proxy';
import { eventually } from '../test/helpers/eventually';
import { sleep } from './drill-load';
import type { BenchStack } from './setup';

export interface FaultContext {
  stack: BenchStack;
  supervisor: Supervisor;
  /** In front of Postgres for the worker and the API. */
  pgProxy: TcpProxy;
  llmFaults: LlmFaults;
  quick: boolean;
  /** How long Postgres stays cut (--pg-cut-s, 10 by default). */
  pgCutMs: number;
  event(what: string): void;
}

export interface Drill {
  name: string;
  title: string;
  /** Aimed at the worst moment rather than a random one: in full mode, or with --at-send. */
  atSend?: true;
  inject(ctx: FaultContext): Promise<void>;
}

const between = (min: number, max: number) => min + Math.random() * (max - min);

/** Resolves with the next send the fake Graph accepts, after `act` ran inside its handler (before Graph answers). */
function atNextSend(graph: FakeGraph, act: () => void): Promise<GraphSend> {
  return new Promise((resolve) => {
    graph.onSend = (send) => {
      graph.onSend = undefined;
      act();
      resolve(send);
    };
  });
}

/** kill -9, a second or two of nothing, a fresh worker; resolves once it polls. */
async function killAndRestartWorker({ stack, supervisor, event }: FaultContext, why = ''): Promise<void> {
  const pid = supervisor.kill('worker');
  event(`kill -9 worker ${pid}${why}`);
  await sleep(between(1000, 2000));
  const fresh = await supervisor.restart('worker');
  event(`worker ${fresh.pid} started`);
  await workerPolling(stack, fresh.pid!);
  event(`worker ${fresh.pid} polling`);
}

/**
 * Restarts a worker or API process that exits without a drill stopping it, a second later, as a
 * process manager would, and reports it: a crash is a finding, and the drill goes on to check
 * that the messages survive it.
 */
export class Supervisor {
  readonly crashes: { name: string; pid?: number; code: number | null; signal: string | null; at: number }[] = [];
  event: (what: string) => void = (what) => console.log(what);
  private readonly expected = new Set<number | undefined>();
  private stopped = false;

  constructor(private readonly stack: BenchStack) {
    this.watch('worker');
    this.watch('api');
  }

  kill(name: 'worker' | 'api'): number | undefined {
    this.expected.add(this.stack[name].pid);
    this.stack[name].kill('SIGKILL');
    return this.stack[name].pid;
  }

  async restart(name: 'worker' | 'api', signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildProcess> {
    this.expected.add(this.stack[name].pid);
    const fresh = await this.stack.restart(name, signal);
    this.watch(name);
    return fresh;
  }

  stop(): void {
    this.stopped = true;
  }

  private watch(name: 'worker' | 'api'): void {
    const child = this.stack[name];
    child.once('exit', (code, signal) => {
      if (this.stopped || this.expected.has(child.pid)) return;
      this.crashes.push({ name, pid: child.pid, code, signal, at: Date.now() });
      this.event(`${name} ${child.pid} exited by itself (code ${code}, signal ${signal}); restarted in 1 s as a process manager would`);
      setTimeout(() => void this.restart(name).then((fresh) => this.event(`${name} ${fresh.pid} started`)), 1000);
    });
  }
}

/** Counts the requests the fake model refuses while an outage is set (HttpFake reads `outage` once per request). */
export class LlmFaults {
  refused = 0;
  private current: Fault | undefined;
  constructor(llm: FakeOpenAI) {
    Object.defineProperty(llm, 'outage', {
      get: () => {
        if (this.current) this.refused++;
        return this.current;
      },
      set: (fault: Fault | undefined) => (this.current = fault),
      configurable: true,
    });
  }
  set(fault: Fault | undefined): void {
    this.current = fault;
  }
}

/** Until a worker of this process id polls the chat task queue (it bundles the workflows first). */
async function workerPolling(stack: BenchStack, pid: number): Promise<void> {
  await eventually(
    async () => {
      const { pollers } = await stack.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: 'bench' },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if (!pollers?.some((p) => p.identity?.startsWith(`${pid}@`))) throw new Error(`worker ${pid} is not polling`);
    },
    120_000,
    250,
  );
}

async function apiListening(stack: BenchStack): Promise<void> {
  await eventually(async () => void (await fetch(`${stack.apiUrl}/health`)).arrayBuffer(), 60_000, 100);
}

export const drills: Drill[] = [
  {
    name: 'worker-kill',
    title: 'worker killed (kill -9) 3 times, restarted after 1-2 s',
    async inject(ctx) {
      for (let k = 1; k <= 3; k++) {
        await sleep(ctx.quick ? between(1000, 4000) : between(3000, 10_000));
        await killAndRestartWorker(ctx);
      }
    },
  },
  {
    name: 'api-restart',
    title: 'API restarted twice: SIGTERM (a deploy), then kill -9 (a crash)',
    async inject({ stack, supervisor, quick, event }) {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        await sleep(quick ? between(2000, 4000) : between(5000, 10_000));
        const pid = stack.api.pid;
        event(`${signal} to API ${pid}`);
        const fresh = await supervisor.restart('api', signal);
        event(`API ${pid} exited; API ${fresh.pid} started`);
        await apiListening(stack);
        event(`API ${fresh.pid} listening`);
      }
    },
  },
  {
    name: 'pg-cut',
    title: 'Postgres unreachable (every connection dropped, new ones refused) for worker and API',
    async inject({ pgProxy, pgCutMs, quick, event }) {
      await sleep(quick ? 3000 : 10_000);
      pgProxy.cut();
      event(`Postgres cut for ${pgCutMs / 1000} s`);
      await sleep(pgCutMs);
      pgProxy.restore();
      event('Postgres restored');
    },
  },
  {
    name: 'llm-faults',
    title: 'LLM answers 500 for 5 s, then 429 with Retry-After: 1 for 5 s',
    async inject({ llmFaults, quick, event }) {
      await sleep(quick ? 3000 : 10_000);
      llmFaults.set(FakeOpenAI.apiError(500, 'The server had an error while processing your request.'));
      event('LLM answers 500');
      await sleep(5000);
      llmFaults.set(FakeOpenAI.apiError(429, 'Rate limit reached', { 'retry-after': '1' }));
      event('LLM answers 429, Retry-After: 1');
      await sleep(5000);
      llmFaults.set(undefined);
      event('LLM answers normally');
    },
  },
  // The worst moments rather than random ones: WhatsApp has taken a reply and the worker has not
  // yet stored its wamid (src/activities/send.ts, between whatsapp.send and the update).
  {
    name: 'worker-kill-at-send',
    atSend: true,
    title: 'worker killed (kill -9) just as Graph accepts a reply, restarted after 1-2 s',
    async inject(ctx) {
      await sleep(ctx.quick ? 3000 : 10_000);
      const send = await atNextSend(ctx.stack.graph, () => ctx.supervisor.kill('worker'));
      await killAndRestartWorker(ctx, ` as Graph accepted ${send.wamid} to ${send.to}`);
    },
  },
  {
    name: 'pg-cut-at-send',
    atSend: true,
    title: 'Postgres cut just as Graph accepts a reply, restored after the cut time',
    async inject({ stack, pgProxy, pgCutMs, quick, event }) {
      await sleep(quick ? 3000 : 10_000);
      const send = await atNextSend(stack.graph, () => pgProxy.cut());
      event(`Postgres cut for ${pgCutMs / 1000} s as Graph accepted ${send.wamid} to ${send.to}`);
      await sleep(pgCutMs);
      pgProxy.restore();
      event('Postgres restored');
    },
  },
];
