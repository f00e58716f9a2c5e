import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';
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

/** sha256 sources for the inline scripts of index.html (its import map), so no other inline script runs. */
function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
}

/**
 * The console is same-origin modules, one stylesheet and fetch() to this API: nothing inline but
 * the import map, no eval, no other host (links to the Temporal Web UI are navigation, which CSP
 * leaves alone). Trusted Types hold because Preact writes the DOM without HTML strings.
 */
function consoleSecurityHeaders(): RequestHandler {
  const scripts = ["'self'", ...inlineScriptHashes(readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8'))];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.join(' ')}`,
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  };
}

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
  router.use('/console', consoleSecurityHeaders());

  router.get(
    '/console/config.json',
    route(
      {
        summary: "The operator console's settings",
        description: 'Where the Temporal Web UI is and which namespace the chats run in, so the console can link each chat to its workflow.',
        access: 'public',
        tag: 'console',
        responses: { 200: { description: 'The settings', schema: ConsoleConfig } },
      },
      () => config,
    ),
  );
  router.use('/console/vendor/preact', express.static(PREACT_DIR, { index: false }));
  router.use('/console/vendor/htm', express.static(HTM_DIR, { index: false }));
  router.use('/console', express.static(CONSOLE_DIR));
  return router;
}
