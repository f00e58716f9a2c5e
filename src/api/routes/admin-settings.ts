import { Router } from 'express';
import { z } from 'zod';
import { lockDefaultAiConfiguration } from '../../db/ai-configuration-admin';
import { createAiConfiguration, snapshotOf, updateAiConfiguration } from '../../db/ai-configurations';
import { operatorOf } from '../auth';
import type { AppDeps } from '../deps';
import { effectiveConfig } from '../effective-config';
import { HttpError } from '../errors';
import { route } from '../route-doc';
import { aiDefaultsOf, checkWaits, environmentSnapshot, mergeSettings, refusedWrite } from '../ai-settings';
import { AiSettingsShape, unknownFields } from './ai-configuration-schemas';

const ADMIN = ['admin'] as const;
const DEFAULT_NAME = 'Default';
const CHANGEABLE = Object.keys(AiSettingsShape);

const SettingsBody = z
  .strictObject(
    z.object(AiSettingsShape).partial().shape,
    // Seed 000's features and limits are the environment's here: say so rather than ignore them.
    unknownFields(CHANGEABLE, '; limits, integrations and keys come from the environment (keys: /api/v1/ai-configurations)'),
  )
  .refine((b) => Object.values(b).some((v) => v !== undefined), `Nothing to change: give one of ${CHANGEABLE.join(', ')}`);

/** Seed 000's admin configuration: what runs, and the AI settings an admin may change at run time. */
export function adminSettingsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get(
    '/config',
    route(
      {
        summary: 'The effective configuration, secrets redacted',
        description:
          'Environment, version, numbers (each with the AI configuration it answers with), the AI settings in effect by default (the default configuration, else the ' +
          "environment's), limits and integrations. Keys are masked; tokens and secrets show only whether they are set.",
        access: ADMIN,
        responses: { 200: 'The configuration' },
      },
      () => effectiveConfig(deps),
    ),
  );

  router.patch(
    '/settings',
    route(
      {
        summary: 'Change the AI settings in effect by default',
        description:
          `Changes the default AI configuration (a new version); when there is none, one named "${DEFAULT_NAME}" is first made from the environment's ` +
          'settings. Numbers with their own configuration are not affected. Answers the effective configuration.',
        access: ADMIN,
        body: SettingsBody,
        responses: { 200: 'The effective configuration after the change' },
        errors: ['CONFLICT'],
      },
      async ({ body, req }) => {
        const by = operatorOf(req.principal);
        const apply = () =>
          deps.db.transaction().execute(async (trx) => {
            let current = await lockDefaultAiConfiguration(trx);
            current ??= await createAiConfiguration(trx, { ...environmentSnapshot(aiDefaultsOf(deps), DEFAULT_NAME), isDefault: true }, by).catch(
              refusedWrite(DEFAULT_NAME),
            );
            const fields = mergeSettings(snapshotOf(current), body);
            checkWaits(fields);
            await updateAiConfiguration(trx, current.id, { ...fields, isDefault: true }, by);
          });
        try {
          await apply();
        } catch (err) {
          // Two first changes at once both create "Default": the later one finds it made, once.
          if (!(err instanceof HttpError && err.code === 'CONFLICT')) throw err;
          await apply().catch((again: unknown) => {
            if (again instanceof HttpError && isNameClash(again)) {
              throw new HttpError(
                'CONFLICT',
                `There is no default AI configuration, and the name "${DEFAULT_NAME}" is taken by one that is not the default: make that one the default (POST /api/v1/ai-configurations/:id/default) or rename it`,
              );
            }
            throw again;
          });
        }
        return effectiveConfig(deps);
      },
    ),
  );

  return router;
}

const isNameClash = (err: HttpError) => Array.isArray(err.details) && (err.details as { field?: string }[]).some((d) => d.field === 'name');
