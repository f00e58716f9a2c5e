/**
 * Webhook latency under a login flood (issue 15: unlimited fresh-email logins ran bcrypt on the
 * API's only thread and pushed webhook p90 from 108 ms to 2.4 s). Signed webhook posts at a steady
 * rate, open loop, three times: with nothing else; with a flood of logins with fresh random emails
 * from the bench process (several hundred a second, at most `floodConcurrency` in flight) against
 * the API as configured, where the login limits refuse most of it; and the same flood against a
 * second API process with the login limits lifted, where every login reaches the bcrypt thread and
 * its bounded queue. Each run's messages are answered by the worker before the next starts.
 */
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { freePort } from '../scripts/temporal-cli';
import { eventually } from '../test/helpers/eventually';
import type { CpuMeter, CpuShares } from './cpu';
import type { ReplyTracker } from './replies';
import { ROOT } from './setup';
import { load1, percentile, sleep, summary, type Summary } from './stats';
import { messageBody, openLoop, postSigned } from './webhook-load';

export interface LoginFloodOptions {
  apiUrl: string;
  /** The API's environment, for the second API process with the login limits lifted. */
  childEnv: NodeJS.ProcessEnv;
  tracker: ReplyTracker;
  /** Digits that start this phase's wa_ids. */
  prefix: string;
  webhookRate: number;
  /** Seconds of each run; the three runs are repeated `rounds` times, interleaved. */
  seconds: number;
  rounds: number;
  floodRate: number;
  floodConcurrency: number;
  drainTimeoutMs: number;
  cpu: CpuMeter;
  /** The API process's pid, tracked again after the second API's runs. */
  apiPid: number | undefined;
  log: (line: string) => void;
}

export interface WebhookFigure {
  offeredPerSecond: number;
  posts: number;
  non200: number;
  /** From the moment each post left the generator to its answer, over every round. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** How late the generator fired its posts (it shares the bench process with the flood), worst round. */
  generatorLagP99Ms: number;
  unanswered: number;
}

export interface FloodFigure {
  offeredPerSecond: number;
  concurrency: number;
  /** Logins sent and answered per second. */
  sentPerSecond: number;
  /** Not sent because `concurrency` were already in flight. */
  skipped: number;
  /** Answers by status; 0 is a failed connection. */
  statuses: Record<string, number>;
  latencyMs: Summary;
}

export interface LoginFloodRun {
  webhook: WebhookFigure;
  flood?: FloodFigure;
  /** Cores each process used, averaged over the rounds. */
  cpu: CpuShares;
  /** 1-minute load average at the end of each round (other processes on the machine included). */
  loadAvg: number[];
}

export interface LoginFloodResult {
  seconds: number;
  rounds: number;
  quiet: LoginFloodRun;
  flood: LoginFloodRun;
  floodWithoutLimits: LoginFloodRun;
}

/** One run of one round, before the rounds are merged. */
interface RoundResult {
  latencies: number[];
  posts: number;
  non200: number;
  lagP99: number;
  unanswered: number;
  flood?: { seconds: number; sent: number; skipped: number; statuses: Record<string, number>; latencies: number[] };
  cpu: CpuShares;
  loadAvg: number;
}

const floodAgent = (sockets: number) => new http.Agent({ keepAlive: true, maxSockets: sockets });

/** Logins with fresh random emails at `rate`/s, never more than `concurrency` in flight, until stopped. */
function startFlood(apiUrl: string, rate: number, concurrency: number): () => Promise<NonNullable<RoundResult['flood']>> {
  const agent = floodAgent(concurrency);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let inFlight = 0;
  let fired = 0;
  let skipped = 0;
  let stopped = false;
  const t0 = performance.now();
  const inflight = new Set<Promise<void>>();
  const login = () =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({ email: `flood.${randomUUID()}@example.com`, password: 'not the password 123' });
      const started = performance.now();
      const done = (status: number) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        latencies.push(performance.now() - started);
        resolve();
      };
      const req = http.request(
        `${apiUrl}/api/v1/auth/login`,
        { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(0));
      req.end(body);
    });
  const tick = () => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; fired < due; fired++) {
      if (inFlight >= concurrency) {
        skipped++;
        continue;
      }
      inFlight++;
      const p = login().then(() => {
        inFlight--;
        inflight.delete(p);
      });
      inflight.add(p);
    }
    setTimeout(tick, 5);
  };
  tick();
  return async () => {
    stopped = true;
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(inflight);
    agent.destroy();
    return { seconds, sent: fired - skipped, skipped, statuses, latencies };
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Steady signed webhook posts at `rate` for `seconds`, to chats the worker answers; waits for the answers. */
async function webhookRun(o: LoginFloodOptions, webhookUrl: string, variant: string): Promise<Omit<RoundResult, 'cpu' | 'loadAvg'>> {
  const n = Math.round(o.webhookRate * o.seconds);
  const chats = o.webhookRate * 2;
  const texts = Array.from({ length: n }, () => o.tracker.newText());
  const bodies = texts.map((text, i) => messageBody(`${o.prefix}${variant}${String(i % chats).padStart(5, '0')}`, text));
  const firedAt = new Array<number>(n).fill(NaN);
  const latencies = new Array<number>(n).fill(NaN);
  const result = await openLoop(o.webhookRate, n, (i) => postSigned(webhookUrl, bodies[i]!), {
    onFire: (i) => {
      firedAt[i] = performance.now();
      o.tracker.sent(texts[i]!);
    },
    onDone: (i, status) => {
      latencies[i] = performance.now() - firedAt[i]!;
      if (status !== 200) o.tracker.forget(texts[i]!);
    },
  });
  const unanswered = await o.tracker.settled(
    texts.filter((t) => o.tracker.get(t)),
    o.drainTimeoutMs,
  );
  return { latencies, posts: n, non200: result.non200, lagP99: result.generatorLagMs.p99, unanswered };
}

async function measuredRun(o: LoginFloodOptions, apiUrl: string, variant: string, flood: boolean): Promise<RoundResult> {
  const cpu = o.cpu.start();
  const stopFlood = flood ? startFlood(apiUrl, o.floodRate, o.floodConcurrency) : undefined;
  // The flood reaches its pace (and, with limits, uses up the address's budget) before posts start.
  if (stopFlood) await sleep(1000);
  const webhookPromise = webhookRun(o, `${apiUrl}/webhooks/whatsapp`, variant);
  // The flood lasts as long as the posts; the wait for the worker's answers comes after.
  await sleep(o.seconds * 1000 + 200);
  const floodResult = await stopFlood?.();
  const shares = cpu();
  const webhook = await webhookPromise;
  return { ...webhook, ...(floodResult ? { flood: floodResult } : {}), cpu: shares, loadAvg: load1() };
}

function merge(o: LoginFloodOptions, rounds: RoundResult[]): LoginFloodRun {
  const sorted = rounds.flatMap((r) => r.latencies.filter(Number.isFinite)).sort((a, b) => a - b);
  const sum = (f: (r: RoundResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const cpu: CpuShares = {};
  for (const k of new Set(rounds.flatMap((r) => Object.keys(r.cpu)))) cpu[k] = Math.round((sum((r) => r.cpu[k] ?? 0) / rounds.length) * 100) / 100;
  const floods = rounds.flatMap((r) => (r.flood ? [r.flood] : []));
  const statuses: Record<string, number> = {};
  for (const f of floods) for (const [k, v] of Object.entries(f.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const flood: FloodFigure | undefined = floods.length
    ? {
        offeredPerSecond: o.floodRate,
        concurrency: o.floodConcurrency,
        sentPerSecond: Math.round(floods.reduce((a, f) => a + f.sent, 0) / floods.reduce((a, f) => a + f.seconds, 0)),
        skipped: floods.reduce((a, f) => a + f.skipped, 0),
        statuses,
        latencyMs: summary(floods.flatMap((f) => f.latencies)),
      }
    : undefined;
  return {
    webhook: {
      offeredPerSecond: o.webhookRate,
      posts: sum((r) => r.posts),
      non200: sum((r) => r.non200),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? NaN),
      generatorLagP99Ms: Math.max(...rounds.map((r) => r.lagP99)),
      unanswered: sum((r) => r.unanswered),
    },
    ...(flood ? { flood } : {}),
    cpu,
    loadAvg: rounds.map((r) => r.loadAvg),
  };
}

/** A second API like the bench's (same worker and task queue) with the login limits lifted. */
async function startUnlimitedApi(childEnv: NodeJS.ProcessEnv): Promise<{ url: string; pid: number | undefined; stop: () => void }> {
  const port = await freePort();
  const lifted = String(1_000_000_000);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'api', 'main.ts')], {
    cwd: ROOT,
    env: { ...childEnv, PORT: String(port), LOGIN_LIMIT_PER_EMAIL: lifted, LOGIN_LIMIT_PER_ADDRESS: lifted, LOGIN_LIMIT_PER_MINUTE: lifted },
    stdio: ['ignore', openSync(path.join(ROOT, '.data', 'bench-api-unlimited-logins.log'), 'w'), 'inherit'],
  });
  const stop = () => void child.kill('SIGKILL');
  process.once('exit', stop);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => void (await fetch(`${url}/health`)).arrayBuffer(), 60_000, 200);
  return { url, pid: child.pid, stop };
}

/**
 * `rounds` rounds of the three runs, interleaved (quiet, flood, flood with limits lifted), so a
 * burst of other work on the machine lands on all three alike rather than on one of them.
 */
export async function loginFlood(o: LoginFloodOptions): Promise<LoginFloodResult> {
  const line = (name: string, r: RoundResult) => {
    const sorted = r.latencies.filter(Number.isFinite).sort((a, b) => a - b);
    const f = r.flood;
    o.log(
      `  ${name}: webhook p50/p90/p99 ${[50, 90, 99].map((p) => round(percentile(sorted, p))).join('/')} ms, ${r.non200} not 200` +
        (f ? `; logins ${Math.round(f.sent / f.seconds)}/s sent, answers ${JSON.stringify(f.statuses)}, ${f.skipped} skipped` : '') +
        `; cores ${JSON.stringify(r.cpu)}; load ${r.loadAvg}`,
    );
  };
  const unlimited = await startUnlimitedApi(o.childEnv);
  const runs: Record<'quiet' | 'flood' | 'floodWithoutLimits', RoundResult[]> = { quiet: [], flood: [], floodWithoutLimits: [] };
  try {
    for (let round = 0; round < o.rounds; round++) {
      o.log(
        `login flood, round ${round + 1}/${o.rounds}: webhook posts at ${o.webhookRate}/s for ${o.seconds} s; alone, then with ${o.floodRate} logins/s (fresh emails, at most ${o.floodConcurrency} in flight), then the same flood at an API with the login limits lifted...`,
      );
      runs.quiet.push(await measuredRun(o, o.apiUrl, `${round}0`, false));
      line('no logins', runs.quiet[round]!);
      await sleep(1000);
      runs.flood.push(await measuredRun(o, o.apiUrl, `${round}1`, true));
      line('login flood, limits as configured', runs.flood[round]!);
      await sleep(1000);
      o.cpu.track('api', unlimited.pid);
      runs.floodWithoutLimits.push(await measuredRun(o, unlimited.url, `${round}2`, true));
      o.cpu.track('api', o.apiPid);
      line('login flood, limits lifted', runs.floodWithoutLimits[round]!);
      await sleep(1000);
    }
  } finally {
    o.cpu.track('api', o.apiPid);
    unlimited.stop();
  }
  return {
    seconds: o.seconds,
    rounds: o.rounds,
    quiet: merge(o, runs.quiet),
    flood: merge(o, runs.flood),
    floodWithoutLimits: merge(o, runs.floodWithoutLimits),
  };
}

/** The bench/results/latest.md section. */
export function loginFloodSection(r: LoginFloodResult, at: string): string {
  const row = (name: string, run: LoginFloodRun) => {
    const w = run.webhook;
    const f = run.flood;
    const answers = f
      ? Object.entries(f.statuses)
          .map(([s, c]) => `${c}× ${s}`)
          .join(', ')
      : '';
    return `| ${name} | ${w.p50} / ${w.p90} / ${w.p99} / ${w.max} | ${w.non200} | ${w.generatorLagP99Ms} | ${f ? `${f.sentPerSecond}/s (${f.skipped} skipped): ${answers}; p50 ${f.latencyMs.p50} ms` : '—'} | ${run.cpu.api ?? ''} | ${w.unanswered} | ${run.loadAvg.join(', ')} |`;
  };
  const w = r.quiet.webhook;
  const f = r.flood.flood!;
  return [
    `Measured ${at}: ${r.rounds} rounds of three ${r.seconds} s runs, interleaved. Signed webhook posts at ${w.offeredPerSecond}/s (open loop; latency from each post leaving the generator to its 200; every figure over all rounds), alone or while the bench process sends logins with fresh random emails at ${f.offeredPerSecond}/s, at most ${f.concurrency} in flight (a login not sent because of that is "skipped"). "Limits as configured" is the bench's API with the default login limits (after the first round's 30 failures its address is refused outright); "limits lifted" is a second API process, same worker, with LOGIN_LIMIT_* set to 10^9, so every login reaches the hashing thread (one thread, at most 8 checks waiting or running, beyond that 429 at once). Every message posted was answered by the worker before the next run.`,
    '',
    '| run | webhook p50 / p90 / p99 / max ms | not 200 | generator lag p99 ms | logins | API cores (bcrypt thread included) | unanswered | load average after each round |',
    '|---|---|---|---|---|---|---|---|',
    row('no logins', r.quiet),
    row('login flood, limits as configured', r.flood),
    row('login flood, limits lifted', r.floodWithoutLimits),
    '',
  ].join('\n');
}
