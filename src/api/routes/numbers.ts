import { Router } from 'express';
import { z } from 'zod';
import { PG_FOREIGN_KEY_VIOLATION, PG_RESTRICT_VIOLATION, isUniqueViolation, pgError } from '../../db/pg-errors';
import type { WhatsAppNumber } from '../../db/schema';
import { deleteNumber, getNumberRow, insertNumber, numberIdOfPhoneNumberId, numberUsage, updateNumber } from '../../db/whatsapp-numbers';
import { checkNumber } from '../../numbers/check-number';
import { sealCredentials } from '../../numbers/credentials';
import { DEFAULT_NUMBER_ID, numbersOf, toBusinessNumber } from '../../numbers/registry';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { requireId } from '../ids';
import { route } from '../route-doc';
import { numberChanges, requireSecrets } from './number-changes';
import { CreateNumberBody, NumberCheckView, NumberList, NumberView, UpdateNumberBody } from './number-schemas';
import { allNumberViews, numberView } from './number-view';

const ADMIN = ['admin'] as const;
const IdParams = z.object({ id: z.string().describe('number id (1: the default number)') });
const one = (description: string) => ({ 200: { description, schema: NumberView } });

async function requireNumber(deps: AppDeps, raw: string): Promise<WhatsAppNumber> {
  const row = await getNumberRow(deps.db, requireId(raw, 'Number'));
  if (!row) throw new HttpError('NOT_FOUND', `Number ${raw} not found`);
  return row;
}

const unknownAiConfiguration = (id: number | null | undefined) =>
  new HttpError('VALIDATION_ERROR', `AI configuration ${id} does not exist`, [{ field: 'ai_configuration_id', reason: 'no such AI configuration' }]);

async function phoneNumberIdTaken(deps: AppDeps, phoneNumberId: string): Promise<HttpError> {
  const id = await numberIdOfPhoneNumberId(deps.db, phoneNumberId);
  return new HttpError('CONFLICT', `Phone number id ${phoneNumberId} is already number ${id ?? '(another)'}`, { number_id: id ?? null });
}

/** The business's WhatsApp numbers (issue 13; seed 002's phone mappings): admins add, change, disable, remove and check them. */
export function numbersRouter(deps: AppDeps): Router {
  const router = Router();
  // Every write applies to this process's routing at once; other processes see it within their cache's TTL.
  const written = () => numbersOf(deps).invalidate();

  router.get(
    '/',
    route(
      {
        summary: 'List WhatsApp numbers',
        description: 'The default number first.',
        access: ADMIN,
        responses: { 200: { description: 'Every number', schema: NumberList } },
      },
      async () => {
        const numbers = await allNumberViews(deps);
        return { numbers, total: numbers.length };
      },
    ),
  );

  router.get(
    '/:id',
    route({ summary: 'Get a WhatsApp number', access: ADMIN, params: IdParams, responses: one('The number'), errors: ['NOT_FOUND'] }, async ({ params }) =>
      numberView(deps, await requireNumber(deps, params.id)),
    ),
  );

  router.post(
    '/',
    route(
      {
        summary: 'Add a WhatsApp number',
        description:
          'Its credentials are stored encrypted under CREDENTIALS_ENCRYPTION_KEY (409 when the API has none). A phone number id another number has, the default included, is a 409.',
        access: ADMIN,
        body: CreateNumberBody,
        responses: { 201: { description: 'Added', schema: NumberView } },
        errors: ['CONFLICT'],
      },
      async ({ body: b, res }) => {
        const secrets = requireSecrets(deps);
        const defaultId = numbersOf(deps).defaultNumber.phoneNumberId;
        if (defaultId && defaultId === b.phone_number_id) {
          throw new HttpError('CONFLICT', `Phone number id ${b.phone_number_id} is the default number's (number ${DEFAULT_NUMBER_ID}, from the environment)`, {
            number_id: DEFAULT_NUMBER_ID,
          });
        }
        const created = await insertNumber(deps.db, {
          phone_number_id: b.phone_number_id,
          provider: b.provider,
          display_number: b.display_number ?? (b.provider === 'twilio' ? `+${b.phone_number_id}` : null),
          name: b.name ?? null,
          credentials_encrypted: sealCredentials(b.provider, b.credentials, secrets),
          ai_configuration_id: b.ai_configuration_id ?? null,
          enabled: b.enabled,
        }).catch(async (err: unknown) => {
          throw isUniqueViolation(err) ? await phoneNumberIdTaken(deps, b.phone_number_id) : err;
        });
        if (created === 'missing') throw unknownAiConfiguration(b.ai_configuration_id);
        written();
        res.status(201).json(await numberView(deps, created));
      },
    ),
  );

  router.patch(
    '/:id',
    route(
      {
        summary: 'Change a WhatsApp number',
        description:
          'phone_number_id and provider cannot change (400). credentials replace the stored ones whole. The default number takes only name and ai_configuration_id: the rest is the environment’s.',
        access: ADMIN,
        params: IdParams,
        body: UpdateNumberBody,
        responses: one('The updated number'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body: b }) => {
        const current = await requireNumber(deps, params.id);
        const changes = numberChanges(deps, current, b, numbersOf(deps).defaultNumber);
        const updated = await updateNumber(deps.db, current.id, changes);
        if (updated === 'missing') throw unknownAiConfiguration(b.ai_configuration_id);
        if (!updated) throw new HttpError('NOT_FOUND', `Number ${current.id} not found`);
        written();
        return numberView(deps, updated);
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Remove a WhatsApp number',
        description:
          'Only a number nothing names: one with conversations (or campaigns, leads) is kept with its history (409); disable it instead. The default number stays (409).',
        access: ADMIN,
        params: IdParams,
        responses: { 204: 'Removed' },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, res }) => {
        const { id } = await requireNumber(deps, params.id);
        if (id === DEFAULT_NUMBER_ID) {
          throw new HttpError('CONFLICT', 'Number 1 is the default number: the environment configures it (WHATSAPP_* / TWILIO_*), so it cannot be removed');
        }
        try {
          await deleteNumber(deps.db, id);
        } catch (err) {
          // The foreign keys decide (no check-then-delete race); the counts only explain the refusal.
          const { code } = pgError(err);
          if (code !== PG_FOREIGN_KEY_VIOLATION && code !== PG_RESTRICT_VIOLATION) throw err;
          const usage = await numberUsage(deps.db, id);
          const named = Object.entries(usage)
            .filter(([, n]) => n > 0)
            .map(([what, n]) => `${n} ${n === 1 ? what.replace(/s$/, '') : what}`);
          throw new HttpError(
            'CONFLICT',
            `Number ${id} has ${named.join(', ') || 'records naming it'}: disable it instead (PATCH {"enabled": false}), so its chats and their history stay`,
            usage,
          );
        }
        written();
        res.status(204).end();
      },
    ),
  );

  router.post(
    '/:id/check',
    route(
      {
        summary: "Check a number's credentials with its provider",
        description:
          'Decrypts its credentials and asks Meta or Twilio about the number with them (read-only; nothing is sent), as npm run cli -- validate-config does. The default number’s credentials are the environment’s: validate-config checks them.',
        access: ADMIN,
        params: IdParams,
        responses: { 200: { description: 'The outcome; a failed check is ok: false, not an error', schema: NumberCheckView } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const row = await requireNumber(deps, params.id);
        if (row.id === DEFAULT_NUMBER_ID) {
          throw new HttpError(
            'VALIDATION_ERROR',
            "Number 1 is the default number: its credentials are the environment's, which npm run cli -- validate-config checks",
          );
        }
        const result = await checkNumber(toBusinessNumber(row), deps.secrets, numbersOf(deps).providers);
        return { ok: result.status !== 'fail', ...result };
      },
    ),
  );

  return router;
}
