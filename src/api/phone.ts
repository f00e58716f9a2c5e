import { z } from 'zod';

/** A WhatsApp id: the number with country code, digits only ("+91 98765-43210" → "919876543210"). */
export const phoneField = z
  .string({ error: 'Phone number is required' })
  .trim()
  .min(1, 'Phone number is required')
  .transform((raw) => raw.replace(/[\s\-().]/g, '').replace(/^\+/, ''))
  .refine((digits) => /^\d{6,15}$/.test(digits), 'Phone number must be the number with country code, 6 to 15 digits');
