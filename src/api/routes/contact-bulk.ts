import express, { Router } from 'express';
import { jsonRecords, MAX_IMPORT_ROWS, parseCsv, prepareImport } from '../../contacts/import';
import { importContacts } from '../../db/contact-import';
import { optInStats } from '../../db/contact-stats';
import { z } from 'zod';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { refuseNul } from '../nul';
import { READ, route } from '../route-doc';
import { runMiddleware } from '../run-middleware';

const IMPORT_LIMIT = '5mb';
// Browsers label .csv uploads variously; all of them are the same text.
const CSV_TYPES = ['text/csv', 'application/csv', 'application/vnd.ms-excel'];

/** The import reads its own larger body, after authentication; app.ts leaves this path to it. */
export const isContactImportPath = (path: string) => /^\/api\/v1\/contacts\/bulk\/import\/?$/i.test(path);

const ImportBody = z
  .array(z.record(z.string(), z.unknown()))
  .describe('Rows with phone (or phone_number), first_name, last_name, email, company, tags, opt_in_status, ...; or the same columns as CSV');
const ImportResult = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  failed: z.number().int(),
  errors: z.array(z.object({ row: z.number().int(), phone: z.string().nullable().optional(), reason: z.string() })),
  kept_opted_out: z
    .array(z.object({ row: z.number().int(), phone: z.string(), contact_id: z.number().int() }))
    .describe('Rows that asked for opt-in on numbers that had opted out: left opted out'),
});

export function contactBulkRouter(deps: AppDeps): Router {
  const router = Router();

  router.get(
    '/bulk/opt-in-stats',
    route({ summary: 'How many contacts are opted in and out, and by which source', access: READ, responses: { 200: 'Opt-in counts' } }, () =>
      optInStats(deps.db),
    ),
  );

  const readJson = express.json({ limit: IMPORT_LIMIT });
  const readCsv = express.text({ type: CSV_TYPES, limit: IMPORT_LIMIT });
  router.post(
    '/bulk/import',
    route(
      {
        summary: 'Import contacts from JSON or CSV (up to 5 MB)',
        description: `Good rows are imported and each bad row is reported as {row, phone, reason}. Idempotent on the phone number; never re-opts-in a number that opted out. At most ${MAX_IMPORT_ROWS} rows.`,
        access: ['marketer'],
        body: ImportBody,
        bodyContentTypes: ['application/json', 'text/csv'],
        responses: { 200: { description: 'What was imported and what was not', schema: ImportResult } },
        // JSON or CSV up to 5 MB, read here once the caller's role is checked (app.ts leaves this path's body alone).
        readsOwnBody: true,
      },
      async ({ req, res }) => {
        await runMiddleware(readJson, req, res);
        await runMiddleware(readCsv, req, res);
        await runMiddleware(refuseNul, req, res);
        const records = req.is(CSV_TYPES) ? parseCsv(String(req.body ?? '')) : jsonRecords(req.body);
        if (records.length > MAX_IMPORT_ROWS) {
          throw new HttpError('VALIDATION_ERROR', `An import takes at most ${MAX_IMPORT_ROWS} rows; split the file`, { max_rows: MAX_IMPORT_ROWS });
        }
        const { contacts, errors } = prepareImport(records);
        const outcome = await importContacts(deps.db, contacts);
        const allErrors = [...errors, ...outcome.errors].sort((a, b) => a.row - b.row);
        return {
          created: outcome.created,
          updated: outcome.updated,
          failed: allErrors.length,
          errors: allErrors,
          kept_opted_out: outcome.keptOptedOut,
        } satisfies z.infer<typeof ImportResult>;
      },
    ),
  );

  return router;
}
