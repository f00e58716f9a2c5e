import { parse } from 'csv-parse/sync';
import { CONTACT_TEXT_FIELDS, type ContactAttributes, type ContactTextField } from '../db/contacts';
import { ContactFields, fieldsOf } from './fields';
import { normalizePhone, type NormalizedPhone } from './phone-number';

export const MAX_IMPORT_ROWS = 10_000;

/** The file as a whole cannot be read; nothing was imported. */
export class ImportFormatError extends Error {}

/** One good row, validated and normalised, ready to be written. */
export interface ImportContact extends NormalizedPhone {
  /** 1-based, counting data rows only (a CSV's header is not a row). */
  row: number;
  /** The phone as written in the file, so a report points at what the user typed. */
  phone: string;
  fields: Partial<Record<ContactTextField, string>>;
  tags: string[];
  attributes: ContactAttributes;
  optIn?: boolean;
}

export interface ImportRowError {
  row: number;
  phone: string | null;
  reason: string;
}

const KNOWN = new Set<string>([...CONTACT_TEXT_FIELDS, 'phone', 'phone_number', 'tags', 'opt_in', 'opt_in_status', 'attributes']);

/** Header cells become keys: "First Name" and "first_name" mean the same column. */
const columnKey = (header: string) =>
  header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

export function parseCsv(text: string): Record<string, string>[] {
  try {
    return parse(text, {
      columns: (header: string[]) => header.map(columnKey),
      bom: true,
      trim: true,
      // Blank lines stay records (skipped later), so row N is still the Nth line after the header.
      skip_empty_lines: false,
      // A short or long row is that row's problem, not the file's.
      relax_column_count: true,
      // One past the limit is enough to refuse the file.
      to: MAX_IMPORT_ROWS + 1,
    }) as Record<string, string>[];
  } catch (err) {
    throw new ImportFormatError(`The CSV file could not be read: ${(err as Error).message}`);
  }
}

/** A JSON import is `{contacts: [...]}` or a bare array of contacts. */
export function jsonRecords(body: unknown): unknown[] {
  const list = Array.isArray(body) ? body : (body as { contacts?: unknown } | null)?.contacts;
  if (!Array.isArray(list)) throw new ImportFormatError('Send {"contacts": [...]}, a JSON array of contacts, or a CSV file (Content-Type: text/csv)');
  return list;
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const TRUE = new Set(['true', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'no', 'n', '0']);

function parseOptIn(v: unknown): boolean | undefined {
  if (isBlank(v)) return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new Error(`opt_in must be true/false, yes/no or 1/0, not "${String(v)}"`);
}

function parseTags(v: unknown): string[] {
  if (isBlank(v)) return [];
  const parts = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[;|]/) : undefined;
  if (!parts || parts.some((t) => typeof t !== 'string')) throw new Error('tags must be text separated by ; or |, or a list of text');
  return [...new Set((parts as string[]).map((t) => t.trim()).filter(Boolean))];
}

function scalar(key: string, v: unknown): string | number | boolean {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new Error(`${key} must be text, a number or true/false`);
}

function toContact(rec: Record<string, unknown>, row: number, phone: string, n: NormalizedPhone): ImportContact {
  const given = rec.attributes;
  if (!isBlank(given) && (typeof given !== 'object' || Array.isArray(given))) throw new Error('attributes must be an object');
  // Every column we do not know is a custom field, so a marketer's own columns survive the import.
  const extra = Object.entries(rec).filter(([k]) => !KNOWN.has(k));
  const attributes: Record<string, string | number | boolean> = {};
  for (const [k, v] of [...Object.entries((given ?? {}) as object), ...extra]) if (!isBlank(v)) attributes[k] = scalar(k, v);
  const text = Object.fromEntries(CONTACT_TEXT_FIELDS.map((f) => [f, rec[f]]));
  const parsed = ContactFields.safeParse({ ...text, tags: parseTags(rec.tags), attributes });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  // A blank cell keeps what the contact already has, so only filled-in values are carried.
  const fields = Object.fromEntries(Object.entries(fieldsOf(parsed.data)).filter(([, v]) => v !== null)) as ImportContact['fields'];
  const { tags = [], attributes: attrs = {} } = parsed.data;
  return { row, phone, ...n, fields, tags, attributes: attrs, optIn: parseOptIn(rec.opt_in ?? rec.opt_in_status) };
}

/**
 * Validates every row on its own: a bad row is reported with its reason and never stops the others.
 * A number seen twice in one file is imported once, from its first row.
 */
export function prepareImport(records: unknown[]): { contacts: ImportContact[]; errors: ImportRowError[] } {
  const contacts: ImportContact[] = [];
  const errors: ImportRowError[] = [];
  const firstRow = new Map<string, number>();
  records.forEach((rec, i) => {
    const row = i + 1;
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      errors.push({ row, phone: null, reason: 'A contact must be an object' });
      return;
    }
    const r = rec as Record<string, unknown>;
    if (Object.values(r).every(isBlank)) return; // a spreadsheet's empty trailing rows
    const raw = r.phone ?? r.phone_number;
    if (isBlank(raw)) {
      errors.push({ row, phone: null, reason: 'Phone number is required' });
      return;
    }
    const phone = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim() : JSON.stringify(raw);
    const n = normalizePhone(phone);
    if (!n.ok) {
      errors.push({ row, phone, reason: n.reason });
      return;
    }
    const first = firstRow.get(n.waId);
    if (first !== undefined) {
      errors.push({ row, phone, reason: `Phone number ${n.e164} is already on row ${first} of this import` });
      return;
    }
    try {
      contacts.push(toContact(r, row, phone, { e164: n.e164, waId: n.waId }));
      firstRow.set(n.waId, row);
    } catch (err) {
      errors.push({ row, phone, reason: (err as Error).message });
    }
  });
  return { contacts, errors };
}
