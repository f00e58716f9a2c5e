import { z } from 'zod';
import type { Period, TimeRange } from '../../db/analytics';
import { HttpError } from '../errors';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;

/** The longest range per bucket size, so one answer stays a few hundred rows at most. */
export const MAX_RANGE_DAYS: Record<Period, number> = { hour: 31, day: 366, week: 3 * 366, month: 10 * 366 };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function isTimeZone(tz: string): boolean {
  // IANA names only: Postgres reads a bare "+05:00" as a POSIX zone, with the sign inverted.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const dateField = (which: string) =>
  z
    .string()
    .trim()
    .refine((s) => DATE.test(s) || DATE_TIME.test(s), 'must be an ISO 8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z)')
    .optional()
    .describe(`${which} (ISO 8601). A date means that whole day in \`timezone\`; a date-time without an offset is read in \`timezone\`.`);

/** The query every analytics route takes. */
export const RangeQuery = z.object({
  start_date: dateField('Start of the range, inclusive; default: 30 days before end_date'),
  end_date: dateField('End of the range, inclusive; default: now'),
  timezone: z
    .string()
    .trim()
    .default('UTC')
    .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Madrid')
    .describe('IANA time zone for day, week and month boundaries and hours of day (default UTC)'),
});

export const GroupedRangeQuery = RangeQuery.extend({
  group_by: z.enum(['day', 'week', 'month']).default('day').describe('Bucket size of `trends` (weeks start on Monday)'),
});

/** Wall-clock fields in a time zone → the instant, DST included. */
function zonedInstant(fields: number[], tz: string): number {
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0, ms = 0] = fields;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const first = wall - offsetAt(wall, tz);
  const second = offsetAt(first, tz);
  return second === offsetAt(wall, tz) ? first : wall - second;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** How far the zone's wall clock is ahead of UTC at an instant, in ms. */
function offsetAt(instant: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** One bound as an instant; undefined for a date or time that does not exist (2024-02-30, 25:00). */
function parseBound(s: string, tz: string): { at: number; wholeDay: boolean } | undefined {
  const m = DATE.exec(s) ?? DATE_TIME.exec(s);
  if (!m) return undefined;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v)));
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return undefined;
  const offset = m[8]?.toUpperCase();
  if (!offset) return { at: zonedInstant([y, mo, d, h, mi, sec, ms], tz), wholeDay: m.length === 4 };
  const [, sign, oh, om] = /^([+-])(\d{2}):?(\d{2})$/.exec(offset) ?? ['', '+', '0', '0'];
  const minutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return { at: Date.UTC(y, mo - 1, d, h, mi, sec, ms) - minutes * 60_000, wholeDay: false };
}

const invalid = (field: string, reason: string) => new HttpError('VALIDATION_ERROR', `${field}: ${reason}`, [{ field, reason }]);

/**
 * The half-open range [start, end) a query asks for. An end date covers its whole day; an end
 * date-time is included. 400 when a bound does not exist, the end is not after the start, or the
 * range is longer than `maxDays`.
 */
export function resolveRange(q: z.infer<typeof RangeQuery>, maxDays: number, now = new Date()): TimeRange {
  const tz = q.timezone;
  const start = q.start_date ? parseBound(q.start_date, tz) : undefined;
  if (q.start_date && !start) throw invalid('start_date', 'is not a real date');
  const end = q.end_date ? parseBound(q.end_date, tz) : undefined;
  if (q.end_date && !end) throw invalid('end_date', 'is not a real date');
  const endMs = end ? (end.wholeDay ? nextDay(q.end_date!, tz) : end.at + 1) : now.getTime();
  const startMs = start ? start.at : endMs - DEFAULT_DAYS * DAY_MS;
  if (endMs <= startMs) throw invalid('end_date', 'must be after start_date');
  // An hour of slack: a range of whole local days may cross a daylight-saving change.
  if (endMs - startMs > maxDays * DAY_MS + 3_600_000) {
    throw invalid('end_date', `the range may span at most ${maxDays} days for this grouping`);
  }
  return { start: new Date(startMs), end: new Date(endMs), timeZone: tz };
}

function nextDay(date: string, tz: string): number {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, mo - 1, d + 1));
  return zonedInstant([next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()], tz);
}
