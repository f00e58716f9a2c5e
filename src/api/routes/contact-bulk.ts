import express, { Router } from 'express';
import { jsonRecords, MAX_IMPORT_ROWS, parseCsv, prepareImport } from '../../contacts/import';
import { importContacts } from '../../db/contact-import';
import { optInStats } from '../../db/contact-stats';
import { READ_ROLES, requireRole } from '../auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';

const IMPORT_LIMIT = '5mb';
// Browsers label .csv uploads variously; all of them are the same text.
const CSV_TYPES = ['text/csv', 'application/csv', 'application/vnd.ms-excel'];

/** The import reads its own larger body, after authentication; app.ts leaves this path to it. */
export const isContactImportPath = (path: string) => /^\/api\/v1\/contacts\/bulk\/import\/?$/i.test(path);

export function contactBulkRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/bulk/opt-in-stats', requireRole(...READ_ROLES), async (_req, res) => {
    res.json(await optInStats(deps.db));
  });

  router.post(
    '/bulk/import',
    requireRole('marketer'),
    express.json({ limit: IMPORT_LIMIT }),
    express.text({ type: CSV_TYPES, limit: IMPORT_LIMIT }),
    async (req, res) => {
      const records = req.is(CSV_TYPES) ? parseCsv(String(req.body ?? '')) : jsonRecords(req.body);
      if (records.length > MAX_IMPORT_ROWS) {
        throw new HttpError('VALIDATION_ERROR', `An import takes at most ${MAX_IMPORT_ROWS} rows; split the file`, { max_rows: MAX_IMPORT_ROWS });
      }
      const { contacts, errors } = prepareImport(records);
      const outcome = await importContacts(deps.db, contacts);
      const allErrors = [...errors, ...outcome.errors].sort((a, b) => a.row - b.row);
      res.json({
        created: outcome.created,
        updated: outcome.updated,
        failed: allErrors.length,
        errors: allErrors,
        kept_opted_out: outcome.keptOptedOut,
      });
    },
  );

  return router;
}
