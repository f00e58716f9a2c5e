/**
 * `npm run bench:campaign`: does a campaign go out at its rate_per_second? Brings up its own
 * Temporal dev server, database, worker, API and zero-latency Graph server (bench/setup.ts),
 * imports N opted-in contacts, creates an APPROVED template with {{first_name}} and a campaign
 * at R per second, starts it through the API and waits for "completed". Every figure comes from
 * the arrival times the fake Graph recorded for POST /{phone-number-id}/messages.
 *
 * Flags: --contacts N (default 2000), --rate R (default 50, at most MAX_SEND_RATE), --quick
 * (500 contacts at 50/s). Writes bench/results/campaign-rate.json (one entry per contacts × rate,
 * newest first) and the "Campaign send rate" section of bench/results/latest.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { batchSize } from '../src/workflows/campaign';
import { MAX_SEND_RATE } from '../src/workflows/campaign-definitions';
import { RESULTS_DIR, flag, startBenchStack, writeLatestSection } from './setup';

const EventType = temporal.api.enums.v1.EventType;
const JSON_FILE = path.join(RESULTS_DIR, 'campaign-rate.json');
const SECTION = 'Campaign send rate';
/** Contacts per import request (the API takes at most 10,000 rows and 5 MB). */
const IMPORT_CHUNK = 5000;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN) };
};

/** Most sends in any half-open window [t, t + widthMs); the times must be sorted. */
function maxInWindow(times: number[], widthMs: number): number {
  let best = 0;
  for (let lo = 0, hi = 0; lo < times.length; lo++) {
    while (hi < times.length && times[hi]! < times[lo]! + widthMs) hi++;
    best = Math.max(best, hi - lo);
  }
  return best;
}

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). Clock ticks are 1/100 s. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The whole machine's busy and total CPU seconds so far (Linux /proc/stat). */
function machineCpu(): { busy: number; total: number } {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - ticks[3]! - ticks[4]!) / 100, total: total / 100 };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

interface BatchTiming {
  scheduledAt: number;
  startedAt: number;
  completedAt: number;
  attempt: number;
}

/** Every sendCampaignBatch of the campaign's runs (continue-as-new included), from their histories. */
async function batchTimings(client: Client, campaignId: number): Promise<BatchTiming[]> {
  const runs: { workflowId: string; runId: string; startTime: Date }[] = [];
  for await (const w of client.workflow.list({ query: `CampaignId = "${campaignId}"` })) runs.push(w);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const batches: BatchTiming[] = [];
  for (const run of runs) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const byScheduled = new Map<number, BatchTiming>();
    for (const e of history.events ?? []) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendCampaignBatch') {
        const b = { scheduledAt: ms(e.eventTime), startedAt: NaN, completedAt: NaN, attempt: 1 };
        byScheduled.set(Number(e.eventId), b);
        batches.push(b);
      }
      const started = e.activityTaskStartedEventAttributes;
      if (started && byScheduled.has(Number(started.scheduledEventId))) {
        const b = byScheduled.get(Number(started.scheduledEventId))!;
        b.startedAt = ms(e.eventTime);
        b.attempt = started.attempt ?? 1;
      }
      const completed = e.activityTaskCompletedEventAttributes;
      if (completed && byScheduled.has(Number(completed.scheduledEventId))) byScheduled.get(Number(completed.scheduledEventId))!.completedAt = ms(e.eventTime);
    }
  }
  return batches;
}

interface RunResult {
  at: string;
  contacts: number;
  targetRate: number;
  batchSize: number;
  sends: number;
  measuredRate: number;
  deviationPercent: number;
  duplicates: number;
  missed: number;
  unexpected: number;
  maxPerSecondWindow: number;
  sendingSpanS: number;
  idealSpanS: number;
  wallTimeS: number;
  startToFirstSendMs: number;
  interArrivalMs: ReturnType<typeof stats>;
  batches: {
    count: number;
    retried: number;
    /** Last send of batch k → first send of batch k+1, at Graph. */
    gapAtGraphMs: ReturnType<typeof stats>;
    /** Activity completed → next activity scheduled (the workflow task in between). */
    completedToNextScheduledMs: ReturnType<typeof stats>;
    /** Activity scheduled → picked up by the worker. */
    scheduledToStartedMs: ReturnType<typeof stats>;
    /** Activity picked up → its first send at Graph (campaign, template and audience page loaded). */
    startedToFirstSendMs: ReturnType<typeof stats>;
    /** Last send at Graph → activity completed (in-flight sends finished, chats signalled, counts read). */
    lastSendToCompletedMs: ReturnType<typeof stats>;
    /** Seconds the run fell behind the ideal span at batch boundaries (each gap minus one interval) and inside batches. */
    lostAtBoundariesS: number;
    lostInsideBatchesS: number;
  };
  /** Sends per second, second by second from the first send: where the pace sagged or bunched. */
  perSecond: number[];
  machine: { cpus: number; cpu?: string; node: string };
  /** 1-minute load average when the campaign started and when it completed: other work on the machine skews the rate. */
  loadAverage: { atStart: number; atEnd: number };
  /** CPU used from start to completion, in % of one core: each process, and the whole machine (100 × cores = saturated). */
  cpuPercent: { worker: number; api: number; temporal: number; bench: number; machine: number; machineCapacity: number };
  /** CPU ms per send in the worker and the Temporal dev server: what the machine must supply R times a second. */
  cpuMsPerSend: { worker: number; temporal: number };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const contacts = quick ? 500 : flag('contacts', 2000);
  const rate = quick ? 50 : flag('rate', 50);
  if (!Number.isInteger(contacts) || contacts < 1 || contacts > 99_999_999) throw new Error(`--contacts must be a whole number from 1, not ${contacts}`);
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_SEND_RATE) throw new Error(`--rate must be a whole number from 1 to ${MAX_SEND_RATE}, not ${rate}`);
  const benchStart = Date.now();

  console.log(`campaign send rate: ${contacts} contacts at ${rate}/s; starting Temporal dev server, database, worker and API...`);
  const stack = await startBenchStack();
  // Stopped also when the run fails, so the database is dropped and nothing is left running.
  try {
    const { graph, request } = stack;
    const run = Date.now().toString(36);
    const tag = `bench-rate-${run}`;

    // Unique, valid Indian mobile numbers: +91 98 followed by 8 digits.
    const waIds = Array.from({ length: contacts }, (_, i) => `9198${String(i).padStart(8, '0')}`);
    console.log(`importing ${contacts} contacts...`);
    for (let i = 0; i < contacts; i += IMPORT_CHUNK) {
      const chunk = waIds.slice(i, i + IMPORT_CHUNK).map((waId, j) => ({ phone: `+${waId}`, first_name: `Guest${i + j}`, tags: [tag], opt_in: true }));
      const res = await request('POST', '/api/v1/contacts/bulk/import', { contacts: chunk });
      if (res.status !== 200 || res.body.failed !== 0 || res.body.created !== chunk.length)
        throw new Error(`import: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
    }
    const template = await request('POST', '/api/v1/templates', {
      name: `bench_rate_${run}`,
      language: 'en',
      category: 'MARKETING',
      body: 'Hi {{first_name}}, our spring sale starts today!',
      status: 'APPROVED',
    });
    if (template.status !== 201) throw new Error(`template: ${template.status} ${JSON.stringify(template.body)}`);
    const created = await request('POST', '/api/v1/campaigns', {
      name: `bench rate ${run}`,
      template_id: template.body.id,
      audience: { tags: [tag] },
      rate_per_second: rate,
    });
    if (created.status !== 201) throw new Error(`campaign: ${created.status} ${JSON.stringify(created.body)}`);
    const campaignId: number = created.body.id;
    if (graph.sends.length !== 0) throw new Error(`Graph already had ${graph.sends.length} sends before the campaign started`);

    console.log(`campaign ${campaignId}: starting; ${contacts} sends at ${rate}/s take ~${round(contacts / rate)} s...`);
    const startedAt = Date.now();
    const loadAtStart = os.loadavg()[0]!;
    const pids = { worker: stack.worker.pid, api: stack.api.pid, temporal: stack.temporal.process?.pid, bench: process.pid };
    const cpuAtStart = {
      worker: cpuSeconds(pids.worker),
      api: cpuSeconds(pids.api),
      temporal: cpuSeconds(pids.temporal),
      bench: cpuSeconds(pids.bench),
      machine: machineCpu(),
    };
    const start = await request('POST', `/api/v1/campaigns/${campaignId}/start`, {});
    if (start.status !== 202) throw new Error(`start: ${start.status} ${JSON.stringify(start.body)}`);
    const deadline = startedAt + (contacts / rate) * 3000 + 120_000;
    let lastReport = startedAt;
    let failedPolls = 0;
    for (;;) {
      const c = await request('GET', `/api/v1/campaigns/${campaignId}`);
      // The API answers 500 when the dev server times out describing the campaign's Schedule
      // (DEADLINE_EXCEEDED under load): a passing failure of the read, not of the campaign.
      if (c.status >= 500 && ++failedPolls <= 25) {
        console.log(`  GET campaign answered ${c.status} (${c.body?.error?.message ?? ''}); polling on`);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (c.status !== 200) throw new Error(`GET campaign: ${c.status} ${JSON.stringify(c.body)}`);
      failedPolls = 0;
      if (c.body.status === 'completed') break;
      if (c.body.status === 'stopped') throw new Error(`campaign stopped: ${c.body.last_error}`);
      if (Date.now() > deadline)
        throw new Error(`campaign still ${c.body.status} after ${round((Date.now() - startedAt) / 1000)} s; ${graph.sends.length} sends so far`);
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        console.log(`  ${round((lastReport - startedAt) / 1000)} s: ${c.body.status}, ${graph.sends.length} sends at Graph`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const completedAt = Date.now();
    const loadAtEnd = os.loadavg()[0]!;
    const wallS = (completedAt - startedAt) / 1000;
    const cpuOf = (k: keyof typeof pids) => round(((cpuSeconds(pids[k]) - cpuAtStart[k]) / wallS) * 100, 0);
    const machineNow = machineCpu();
    const machineShare = (machineNow.busy - cpuAtStart.machine.busy) / (machineNow.total - cpuAtStart.machine.total);

    // Everything below is from the fake Graph's own arrival timestamps.
    const expected = new Set(waIds);
    const perRecipient = new Map<string, number>();
    let unexpected = 0;
    const times: number[] = [];
    for (const s of graph.sends) {
      const to = s.to.replace(/\D/g, '');
      if (!expected.has(to) || s.phoneNumberId !== 'BENCH') {
        unexpected++;
        continue;
      }
      perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
      times.push(s.at);
    }
    times.sort((a, b) => a - b);
    const first = times[0]!;
    const last = times[times.length - 1]!;
    const spanS = (last - first) / 1000;
    const measuredRate = (times.length - 1) / spanS;
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const perSecond: number[] = [];
    for (const t of times) {
      const second = Math.floor((t - first) / 1000);
      while (perSecond.length <= second) perSecond.push(0);
      perSecond[second]!++;
    }

    // Batch k sends the k-th page of the audience; with no failures that is arrivals [k·size, (k+1)·size).
    const size = batchSize(rate);
    const timings = await batchTimings(stack.client, campaignId);
    const boundaryGaps: number[] = [];
    const startedToFirstSend: number[] = [];
    const lastSendToCompleted: number[] = [];
    timings.forEach((b, k) => {
      const firstOfBatch = times[k * size];
      const lastOfBatch = times[Math.min((k + 1) * size, times.length) - 1];
      if (firstOfBatch === undefined || lastOfBatch === undefined) return;
      if (k > 0) boundaryGaps.push(firstOfBatch - times[k * size - 1]!);
      startedToFirstSend.push(firstOfBatch - b.startedAt);
      lastSendToCompleted.push(b.completedAt - lastOfBatch);
    });

    const result: RunResult = {
      at: new Date().toISOString(),
      contacts,
      targetRate: rate,
      batchSize: size,
      sends: times.length,
      measuredRate: round(measuredRate, 2),
      deviationPercent: round(((measuredRate - rate) / rate) * 100, 2),
      duplicates: [...perRecipient.values()].filter((n) => n > 1).length,
      missed: waIds.filter((w) => !perRecipient.has(w)).length,
      unexpected,
      maxPerSecondWindow: maxInWindow(times, 1000),
      sendingSpanS: round(spanS, 2),
      idealSpanS: round((contacts - 1) / rate, 2),
      wallTimeS: round((completedAt - startedAt) / 1000, 2),
      startToFirstSendMs: first - startedAt,
      interArrivalMs: stats(gaps),
      batches: {
        count: timings.length,
        retried: timings.filter((b) => b.attempt > 1).length,
        gapAtGraphMs: stats(boundaryGaps),
        completedToNextScheduledMs: stats(timings.slice(1).map((b, k) => b.scheduledAt - timings[k]!.completedAt)),
        scheduledToStartedMs: stats(timings.map((b) => b.startedAt - b.scheduledAt)),
        startedToFirstSendMs: stats(startedToFirstSend),
        lastSendToCompletedMs: stats(lastSendToCompleted),
        lostAtBoundariesS: round(boundaryGaps.reduce((sum, g) => sum + g - 1000 / rate, 0) / 1000, 2),
        lostInsideBatchesS: round(spanS - (contacts - 1) / rate - boundaryGaps.reduce((sum, g) => sum + g - 1000 / rate, 0) / 1000, 2),
      },
      perSecond,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
      loadAverage: { atStart: round(loadAtStart, 2), atEnd: round(loadAtEnd, 2) },
      cpuPercent: {
        worker: cpuOf('worker'),
        api: cpuOf('api'),
        temporal: cpuOf('temporal'),
        bench: cpuOf('bench'),
        machine: round(machineShare * os.cpus().length * 100, 0),
        machineCapacity: os.cpus().length * 100,
      },
      cpuMsPerSend: {
        worker: round(((cpuOf('worker') / 100) * wallS * 1000) / times.length, 1),
        temporal: round(((cpuOf('temporal') / 100) * wallS * 1000) / times.length, 1),
      },
    };

    // One entry per contacts × rate, newest first, so runs at different rates sit side by side.
    mkdirSync(RESULTS_DIR, { recursive: true });
    const previous: RunResult[] = existsSync(JSON_FILE) ? ((JSON.parse(readFileSync(JSON_FILE, 'utf8')) as { runs?: RunResult[] }).runs ?? []) : [];
    const runs = [result, ...previous.filter((r) => r.contacts !== contacts || r.targetRate !== rate)];
    writeFileSync(
      JSON_FILE,
      `${JSON.stringify({ setup: 'bench/campaign-rate.ts: real worker and API processes, Temporal CLI dev server, local Postgres, zero-latency loopback Graph', runs }, null, 2)}\n`,
    );

    const table = (r: RunResult) => [
      '| figure | value |',
      '|---|---|',
      `| target rate | ${r.targetRate}/s (${r.contacts} contacts, batches of ${r.batchSize}) |`,
      `| measured rate: (sends − 1) / (last − first) | ${r.measuredRate}/s |`,
      `| deviation from target | ${r.deviationPercent > 0 ? '+' : ''}${r.deviationPercent} % |`,
      `| sends at Graph | ${r.sends} |`,
      `| duplicates (recipients sent more than once) | ${r.duplicates} |`,
      `| recipients missed | ${r.missed} |`,
      `| most sends in any 1 s window | ${r.maxPerSecondWindow} |`,
      `| sending span (first → last send) | ${r.sendingSpanS} s (ideal ${r.idealSpanS} s) |`,
      `| wall time (start → status "completed") | ${r.wallTimeS} s |`,
      `| gap between batches at Graph (p50 / max) | ${r.batches.gapAtGraphMs.p50} / ${r.batches.gapAtGraphMs.max} ms, ${r.batches.count} batches |`,
      `| time lost vs ideal span: at batch boundaries / inside batches | ${r.batches.lostAtBoundariesS} s / ${r.batches.lostInsideBatchesS} s |`,
    ];
    console.log(`\n${table(result).join('\n')}`);
    console.log(
      `\ninter-arrival ms p50 ${result.interArrivalMs.p50}, p99 ${result.interArrivalMs.p99}, max ${result.interArrivalMs.max} (target ${round(1000 / rate)})`,
    );
    console.log(
      `batch transitions (p50 / max ms): completed → next scheduled ${result.batches.completedToNextScheduledMs.p50} / ${result.batches.completedToNextScheduledMs.max}, scheduled → started ${result.batches.scheduledToStartedMs.p50} / ${result.batches.scheduledToStartedMs.max}, started → first send ${result.batches.startedToFirstSendMs.p50} / ${result.batches.startedToFirstSendMs.max}, last send → completed ${result.batches.lastSendToCompletedMs.p50} / ${result.batches.lastSendToCompletedMs.max}; retried batches ${result.batches.retried}`,
    );
    console.log(`sends per second: ${perSecond.join(' ')}`);
    console.log(`1-minute load average: ${result.loadAverage.atStart} at start, ${result.loadAverage.atEnd} at completion (${result.machine.cpus} cores)`);
    const cpu = result.cpuPercent;
    console.log(
      `CPU while sending, % of one core: worker ${cpu.worker}, API ${cpu.api}, Temporal dev server ${cpu.temporal}, bench + fake Graph ${cpu.bench}; whole machine ${cpu.machine} of ${cpu.machineCapacity}; per send: worker ${result.cpuMsPerSend.worker} ms, dev server ${result.cpuMsPerSend.temporal} ms`,
    );

    const rows = runs
      .sort((a, b) => a.contacts - b.contacts || a.targetRate - b.targetRate)
      .map(
        (r) =>
          `| ${r.contacts} | ${r.targetRate}/s | ${r.measuredRate}/s | ${r.deviationPercent > 0 ? '+' : ''}${r.deviationPercent} % | ${r.duplicates} | ${r.missed} | ${r.maxPerSecondWindow} | ${r.sendingSpanS} s | ${r.wallTimeS} s | ${r.loadAverage ? `${r.loadAverage.atStart} → ${r.loadAverage.atEnd}` : '–'} | ${r.at} |`,
      );
    writeLatestSection(
      SECTION,
      [
        '`npm run bench:campaign` (bench/campaign-rate.ts): one campaign through the API, real worker and API processes, rate measured from the arrival times at a zero-latency loopback Graph server. Measured rate = (sends − 1) / (last send − first send); wall time is from POST /start to status "completed".',
        '',
        '| contacts | target | measured | deviation | duplicates | missed | max sends in 1 s | sending span | wall time | load avg start → end | measured at |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );

    const ok = Math.abs(result.deviationPercent) <= 5 && result.duplicates === 0 && result.missed === 0 && result.unexpected === 0;
    console.log(
      `\n${ok ? 'OK' : 'MISSED'}: within 5 % of ${rate}/s, no duplicates, nobody missed: ${ok}. Whole bench ${round((Date.now() - benchStart) / 1000)} s.`,
    );
    console.log(`wrote ${path.relative(process.cwd(), JSON_FILE)} and the "${SECTION}" section of bench/results/latest.md`);
    if (!ok) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:campaign: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
