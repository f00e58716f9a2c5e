/**
 * Where the machine's CPU went during a phase: CPU seconds per process (from /proc/<pid>/stat,
 * threads included) over wall seconds, i.e. cores used. Postgres is the sum of the backends
 * serving this run's database. Linux only; elsewhere every share is empty.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of proc(5), counted from the state field (3).
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function postgresBackends(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(database)) pids.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return pids;
}

export type CpuShares = Record<string, number>;

export class CpuMeter {
  constructor(
    private readonly pids: Record<string, number | undefined>,
    private readonly database: string,
  ) {}

  /** Adds (or, with no pid, drops) a process started after the meter, e.g. the floor's worker. */
  track(name: string, pid: number | undefined): void {
    this.pids[name] = pid;
  }

  /** Ticks per process name and pid (Postgres backends come and go; each is counted on its own). */
  private sample(): { at: number; ticks: Map<string, Map<number, number>> } {
    const all = new Map<string, Map<number, number>>();
    for (const [name, pid] of Object.entries(this.pids)) if (pid !== undefined) all.set(name, new Map([[pid, ticks(pid)]]));
    all.set('postgres', new Map(postgresBackends(this.database).map((pid) => [pid, ticks(pid)])));
    return { at: performance.now(), ticks: all };
  }

  /** Starts measuring; the function returned gives the cores each process used since. */
  start(): () => CpuShares {
    if (process.platform !== 'linux') return () => ({});
    const before = this.sample();
    return () => {
      const after = this.sample();
      const seconds = (after.at - before.at) / 1000;
      const shares: CpuShares = {};
      for (const [name, pids] of after.ticks) {
        // A backend that started during the phase counts from zero; one that ended is missed.
        let used = 0;
        for (const [pid, t] of pids) used += t - (before.ticks.get(name)?.get(pid) ?? 0);
        shares[name] = Math.round((used / TICKS_PER_SECOND / seconds) * 100) / 100;
      }
      return shares;
    };
  }
}
