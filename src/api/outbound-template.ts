import { z } from 'zod';
import { contactVariables } from '../activities/campaign-content';
import { memberByWaId } from '../db/campaign-audience';
import type { Db } from '../db/database';
import { TemplateRenderError, renderTemplate, templateParameters } from '../templates/render';
import type { TemplateMessage } from '../workflows/definitions';
import { HttpError } from './errors';

/** A template an operator sends: by id, or by name (and language when it has several). */
export const TemplateRef = z
  .object({
    id: z.number().int().positive().max(2_147_483_647).optional(),
    name: z.string().min(1).max(512).optional(),
    language: z.string().min(2).max(15).optional(),
    variables: z
      .record(z.string().max(100), z.union([z.string().max(1024), z.number()]))
      .optional()
      .describe("Values for the template's {{placeholders}}; the contact's own fields (first_name, company …) fill the rest"),
  })
  .refine((t) => (t.id === undefined) !== (t.name === undefined), 'template needs exactly one of id or name')
  .describe('An APPROVED template: the only message WhatsApp delivers outside the 24-hour window');
export type TemplateRef = z.infer<typeof TemplateRef>;

/**
 * The template as the chat sends it: looked up (400 when none matches), APPROVED (409 otherwise),
 * and rendered with the request's variables over the contact's fields (400 naming a missing one).
 */
export async function resolveTemplate(db: Db, ref: TemplateRef, waId: string): Promise<TemplateMessage> {
  let q = db.selectFrom('templates').selectAll();
  q = ref.id !== undefined ? q.where('id', '=', ref.id) : q.where('name', '=', ref.name!);
  if (ref.language) q = q.where('language', '=', ref.language);
  const found = await q.orderBy('id').limit(2).execute();
  const what = ref.id !== undefined ? `template ${ref.id}` : `template ${JSON.stringify(ref.name)}${ref.language ? ` (${ref.language})` : ''}`;
  if (found.length === 0) throw new HttpError('VALIDATION_ERROR', `template: ${what} does not exist`);
  if (found.length > 1) throw new HttpError('VALIDATION_ERROR', `template: ${what} exists in several languages; give its language`);
  const t = found[0]!;
  if (t.status !== 'APPROVED') throw new HttpError('CONFLICT', `Template ${t.name} is ${t.status}; only APPROVED templates can be sent`);
  const member = await memberByWaId(db, waId);
  const given = Object.fromEntries(Object.entries(ref.variables ?? {}).map(([k, v]) => [k, String(v)]));
  const vars = { ...(member ? contactVariables(member, {}) : {}), ...given };
  try {
    return { name: t.name, language: t.language, parameters: templateParameters(t.body, vars), text: renderTemplate(t.body, vars) };
  } catch (err) {
    if (err instanceof TemplateRenderError) throw new HttpError('VALIDATION_ERROR', `template.variables: ${err.message}`, { missing: err.missing });
    throw err;
  }
}
