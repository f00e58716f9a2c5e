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

/** Ids are Postgres integers; anything else cannot name a row, so it is not found rather than invalid. */

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
