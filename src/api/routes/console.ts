import path from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps';
import { route } from '../route-doc';

/** Where `npm run dev` serves the Temporal Web UI. */
export const DEFAULT_TEMPORAL_UI_URL = 'http://127.0.0.1:8233';

const CONSOLE_DIR = path.join(__dirname, '..', '..', 'console');
// Preact and htm are shipped to the browser as the ES modules their packages publish: no bundler,
// no build step, so the console works on a fresh clone as soon as `npm install` has run.
const PREACT_DIR = path.dirname(require.resolve('preact/package.json'));
const HTM_DIR = path.dirname(require.resolve('htm'));

const ConsoleConfig = z.object({
  temporal_ui_url: z.string().describe('Base URL of the Temporal Web UI'),
  namespace: z.string().describe('Temporal namespace the chats run in'),
  version: z.string(),
});

/**
 * The operator console: static files (the data behind them needs a login) and the little the page
 * must know about the deployment, here where it is served rather than baked into the files.
 */
export function consoleRouter(deps: AppDeps): Router {
  const router = Router();
  const config: z.infer<typeof ConsoleConfig> = {
    temporal_ui_url: (deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI_URL).replace(/\/+$/, ''),
    namespace: deps.temporal.options.namespace,
    version: deps.version,
  };

  router.get(
    '/console/config.json',
    route({
      summary: "The operator console's settings",
      description: 'Where the Temporal Web UI is and which namespace the chats run in, so the console can link each chat to its workflow.',
      access: 'public',
      tag: 'console',
      responses: { 200: { description: 'The settings', schema: ConsoleConfig } },
    }),
    (_req, res) => {
      res.json(config);
    },
  );
  router.use('/console/vendor/preact', express.static(PREACT_DIR, { index: false }));
  router.use('/console/vendor/htm', express.static(HTM_DIR, { index: false }));
  router.use('/console', express.static(CONSOLE_DIR));
  return router;
}
