import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { labelField } from '../../contacts/fields';
import { ImportFormatError } from '../../contacts/import';
import { phoneNumberField } from '../../contacts/phone-number';
import { ContactConflict, type NewPhone } from '../../db/contact-phones';
import type { ContactWithPhones } from '../../db/contacts';
import type { ContactPhoneNumber } from '../../db/schema';
import { HttpError } from '../errors';

export const PhoneEntry = z.object({
  phone_number: phoneNumberField,
  label: labelField,
  is_primary: z.boolean().optional(),
});

export const toNewPhone = (p: z.infer<typeof PhoneEntry>): NewPhone => ({ ...p.phone_number, label: p.label, isPrimary: p.is_primary });

export const ContactIdParams = z.object({ id: z.string().describe('contact id') });

export const PhoneView = z.object({
  id: z.number().int(),
  contact_id: z.number().int(),
  phone_number: z.string().describe('E.164'),
  wa_id: z.string().describe('WhatsApp id: the number without +'),
  label: z.string().nullable(),
  is_primary: z.boolean(),
  verified: z.boolean(),
  verified_at: z.date().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});

export const ContactView = z.object({
  id: z.number().int(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  email: z.string().nullable(),
  company: z.string().nullable(),
  job_title: z.string().nullable(),
  notes: z.string().nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()).describe('Free-form fields, usable as campaign variables'),
  opt_in_status: z.boolean(),
  opted_in_at: z.date().nullable(),
  opt_in_source: z.string().nullable(),
  opted_out_at: z.date().nullable(),
  opt_out_source: z.string().nullable(),
  opt_out_reason: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
  primary_phone: z.string().nullable(),
  phone_numbers: z.array(PhoneView),
});

export function phoneView(p: ContactPhoneNumber) {
  return {
    id: p.id,
    contact_id: p.contact_id,
    phone_number: p.phone_number,
    wa_id: p.wa_id,
    label: p.label,
    is_primary: p.is_primary,
    verified: p.verified_at !== null,
    verified_at: p.verified_at,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

export function contactView(c: ContactWithPhones) {
  const { phone_numbers, ...contact } = c;
  return {
    ...contact,
    primary_phone: phone_numbers.find((p) => p.is_primary)?.phone_number ?? null,
    phone_numbers: phone_numbers.map(phoneView),
  };
}

/** The contact book's own refusals, in the spec's error format. */
export const contactErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  if (err instanceof ContactConflict) return next(new HttpError('CONFLICT', err.message, err.details));
  if (err instanceof ImportFormatError) return next(new HttpError('VALIDATION_ERROR', err.message));
  next(err);
};
