import { z } from 'zod';
import { CONTACT_TEXT_FIELDS, type ContactTextField } from '../db/contacts';

/** Blank means "none": an empty form field or CSV cell carries no value rather than storing "". */
const blankToNull = (v: unknown) => (typeof v === 'string' ? (v.trim() === '' ? null : v.trim()) : v);
// Postgres refuses NUL in text and jsonb; refusing it here makes that a 400, not a failed write.
const noNul = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((s) => !s.includes('\0'), 'must not contain NUL characters');
const text = (max: number) => z.preprocess(blankToNull, noNul(max).nullable()).optional();

/** A contact's own fields, checked the same way whether they come from the API or an import. */
export const contactFieldsShape = {
  first_name: text(200),
  last_name: text(200),
  email: z.preprocess(blankToNull, z.email().max(320).nullable()).optional(),
  company: text(200),
  job_title: text(200),
  notes: text(5000),
  tags: z
    .array(noNul(64).min(1))
    .max(100)
    .transform((tags) => [...new Set(tags)])
    .optional(),
  // Custom fields, usable as template variables ({{city}}).
  attributes: z.record(noNul(64).min(1), z.union([noNul(1000), z.number(), z.boolean()])).optional(),
};

export const ContactFields = z.object(contactFieldsShape);

/** The text fields a parsed body actually carries; undefined ones are left alone. */
export function fieldsOf(body: Partial<Record<ContactTextField, string | null>>): Partial<Record<ContactTextField, string | null>> {
  return Object.fromEntries(CONTACT_TEXT_FIELDS.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
}

export const labelField = text(64);
