import { sql } from 'kysely';
import type { Db } from './database';

export interface OptInStats {
  total: number;
  opted_in: number;
  /** Explicitly opted out (and not opted in again since). */
  opted_out: number;
  /** Not opted in and never opted out: nobody has asked them yet. The three counts add up to total. */
  never_opted_in: number;
  /** Percentage of all contacts who are opted in, two decimals. */
  opt_in_rate: number;
  opt_in_sources: Record<string, number>;
  opt_out_sources: Record<string, number>;
}

async function sourceCounts(db: Db, column: 'opt_in_source' | 'opt_out_source', optedIn: boolean) {
  let q = db
    .selectFrom('contacts')
    .select([sql<string>`coalesce(${sql.ref(column)}, 'unknown')`.as('source'), (eb) => eb.fn.countAll<string>().as('n')])
    .where('opt_in_status', '=', optedIn)
    .groupBy(sql`1`);
  if (!optedIn) q = q.where('opted_out_at', 'is not', null);
  const rows = await q.execute();
  return Object.fromEntries(rows.map((r) => [r.source, Number(r.n)]));
}

/** Consent across the whole contact book, as the people who were asked stand today. */
export async function optInStats(db: Db): Promise<OptInStats> {
  const [counts, inSources, outSources] = await Promise.all([
    db
      .selectFrom('contacts')
      .select([
        sql<string>`count(*)`.as('total'),
        sql<string>`count(*) filter (where opt_in_status)`.as('opted_in'),
        sql<string>`count(*) filter (where not opt_in_status and opted_out_at is not null)`.as('opted_out'),
      ])
      .executeTakeFirstOrThrow(),
    sourceCounts(db, 'opt_in_source', true),
    sourceCounts(db, 'opt_out_source', false),
  ]);
  const total = Number(counts.total);
  const optedIn = Number(counts.opted_in);
  const optedOut = Number(counts.opted_out);
  return {
    total,
    opted_in: optedIn,
    opted_out: optedOut,
    never_opted_in: total - optedIn - optedOut,
    opt_in_rate: total === 0 ? 0 : Math.round((optedIn / total) * 10_000) / 100,
    opt_in_sources: inSources,
    opt_out_sources: outSources,
  };
}
