import { Router } from 'express';
import { z } from 'zod';
import { DEFAULT_TEST_MESSAGE, testAiConfiguration } from '../../ai/test-call';
import {
  createAiConfiguration,
  deleteAiConfiguration,
  getAiConfiguration,
  listAiConfigurations,
  snapshotOf,
  updateAiConfiguration,
} from '../../db/ai-configurations';
import { listAiConfigurationVersions, lockAiConfiguration, numbersByAiConfiguration } from '../../db/ai-configuration-admin';
import type { AiConfiguration, AiConfigurationSnapshot } from '../../db/schema';
import { aiDefaultsOf, checkWaits, environmentSnapshot, mergeSettings, refusedWrite, sealKey } from '../ai-settings';
import { operatorOf } from '../auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { requireId } from '../ids';
import { route } from '../route-doc';
import { ConfigurationView, configurationView, CreateBody, settingsView, TestBody, UpdateBody, VersionView } from './ai-configuration-schemas';

// Admin only, reads included: the prompts are business configuration, and the endpoints and key
// sources describe the deployment.
const ADMIN = ['admin'] as const;
const IdParams = z.object({ id: z.string().describe('AI configuration id') });
const one = (description: string) => ({ 200: { description, schema: ConfigurationView } });

async function requireConfiguration(deps: AppDeps, raw: string): Promise<AiConfiguration> {
  const found = await getAiConfiguration(deps.db, requireId(raw, 'AI configuration'));
  if (!found) throw new HttpError('NOT_FOUND', `AI configuration ${raw} not found`);
  return found;
}

/**
 * Named model settings (seed 003's AI configurations): a number answers with its own, else the
 * default one, else the environment's. Every change of the settings is a new version; a chat
 * picks it up at its next burst.
 */
export function aiConfigurationsRouter(deps: AppDeps): Router {
  const router = Router();
  const view = async (row: AiConfiguration) => configurationView(row, (await numbersByAiConfiguration(deps.db)).get(row.id) ?? [], deps.secrets);

  /** Changes one configuration under its row lock, so a partial change merges into the latest version. */
  const change = (raw: string, by: string, edit: (current: AiConfiguration) => AiConfigurationSnapshot & { isDefault: boolean }) =>
    deps.db.transaction().execute(async (trx) => {
      const current = await lockAiConfiguration(trx, requireId(raw, 'AI configuration'));
      if (!current) throw new HttpError('NOT_FOUND', `AI configuration ${raw} not found`);
      const fields = edit(current);
      checkWaits(fields);
      return (await updateAiConfiguration(trx, current.id, fields, by).catch(refusedWrite(fields.name)))!;
    });

  router.get(
    '/',
    route(
      {
        summary: 'List AI configurations',
        access: ADMIN,
        responses: {
          200: {
            description: 'Every configuration, oldest first',
            schema: z.object({ ai_configurations: z.array(ConfigurationView), total: z.number().int() }),
          },
        },
      },
      async () => {
        const [rows, usedBy] = await Promise.all([listAiConfigurations(deps.db), numbersByAiConfiguration(deps.db)]);
        return { ai_configurations: rows.map((r) => configurationView(r, usedBy.get(r.id) ?? [], deps.secrets)), total: rows.length };
      },
    ),
  );

  router.post(
    '/',
    route(
      {
        summary: 'Create an AI configuration',
        description: "Omitted settings are the environment's (OPENAI_MODEL, LLM_*, DEBOUNCE_*). An api_key needs CREDENTIALS_ENCRYPTION_KEY (409 without).",
        access: ADMIN,
        body: CreateBody,
        responses: { 201: { description: 'Created (version 1)', schema: ConfigurationView } },
        errors: ['CONFLICT'],
      },
      async ({ body, req, res }) => {
        const fields = mergeSettings(environmentSnapshot(aiDefaultsOf(deps), body.name), body);
        fields.apiKeyEncrypted = sealKey(deps, body.api_key, null);
        checkWaits(fields);
        const row = await createAiConfiguration(deps.db, { ...fields, isDefault: body.is_default }, operatorOf(req.principal)).catch(refusedWrite(body.name));
        res.status(201).json(await view(row));
      },
    ),
  );

  router.get(
    '/:id',
    route(
      { summary: 'Get an AI configuration', access: ADMIN, params: IdParams, responses: one('The configuration'), errors: ['NOT_FOUND'] },
      async ({ params }) => view(await requireConfiguration(deps, params.id)),
    ),
  );

  router.patch(
    '/:id',
    route(
      {
        summary: 'Change an AI configuration',
        description:
          'Only the fields given change; a change of the settings is a new version. api_key null: use OPENAI_API_KEY; is_default true takes the default from the other.',
        access: ADMIN,
        params: IdParams,
        body: UpdateBody,
        responses: one('The configuration after the change'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body, req }) => {
        const row = await change(params.id, operatorOf(req.principal), (current) => ({
          ...mergeSettings(snapshotOf(current), body),
          apiKeyEncrypted: sealKey(deps, body.api_key, current.api_key_encrypted),
          isDefault: body.is_default ?? current.is_default,
        }));
        return view(row);
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Delete an AI configuration no number uses',
        description:
          "409 naming the numbers that use it. Deleting the default leaves none: chats without their own configuration use the environment's settings.",
        access: ADMIN,
        params: IdParams,
        responses: { 204: 'Deleted' },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, res }) => {
        const outcome = await deleteAiConfiguration(deps.db, requireId(params.id, 'AI configuration'));
        if (outcome === 'missing') throw new HttpError('NOT_FOUND', `AI configuration ${params.id} not found`);
        if (outcome !== 'deleted') {
          throw new HttpError(
            'CONFLICT',
            `AI configuration ${params.id} is used by number(s) ${outcome.usedBy.join(', ')}: give them another configuration first`,
            {
              number_ids: outcome.usedBy,
            },
          );
        }
        res.status(204).end();
      },
    ),
  );

  router.post(
    '/:id/default',
    route(
      {
        summary: 'Make an AI configuration the default',
        description: 'The one numbers without their own configuration answer with; the previous default stops being it. Not a new version.',
        access: ADMIN,
        params: IdParams,
        responses: one('The configuration, now the default'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, req }) => view(await change(params.id, operatorOf(req.principal), (current) => ({ ...snapshotOf(current), isDefault: true }))),
    ),
  );

  router.get(
    '/:id/versions',
    route(
      {
        summary: "An AI configuration's versions",
        description: 'Every version kept whole, newest first (the key masked).',
        access: ADMIN,
        params: IdParams,
        responses: { 200: { description: 'The versions', schema: z.object({ versions: z.array(VersionView) }) } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const { id } = await requireConfiguration(deps, params.id);
        const rows = await listAiConfigurationVersions(deps.db, id);
        return {
          versions: rows.map((v) => ({
            version: v.version,
            created_at: v.created_at,
            created_by: v.created_by,
            settings: settingsView(v.settings, deps.secrets),
          })),
        };
      },
    ),
  );

  router.post(
    '/:id/test',
    route(
      {
        summary: 'Try an AI configuration with one real call',
        description:
          'Sends one short message (default "Hello! Reply with a short greeting.") to the model the configuration describes and answers what happened: ' +
          '{ok: true, model, reply, latency_ms, prompt_tokens, completion_tokens} or {ok: false, error: {type, status, message}}, type one of not_configured, ' +
          'key_unreadable, auth_refused, not_found, rate_limited, rejected, server_error, timeout, unreachable, bad_reply. Not recorded as chat usage.',
        access: ADMIN,
        params: IdParams,
        body: TestBody,
        responses: { 200: { description: 'The outcome of the call (a failed call is still a 200)' } },
        errors: ['NOT_FOUND'],
      },
      async ({ params, body }) => {
        const row = await requireConfiguration(deps, params.id);
        return testAiConfiguration(snapshotOf(row), aiDefaultsOf(deps), deps.secrets, body.message ?? DEFAULT_TEST_MESSAGE);
      },
    ),
  );

  return router;
}
