import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { randomBytes } from 'node:crypto';
import swaggerUi from 'swagger-ui-express';
import { tokenSettings } from '../auth/tokens';
import { authenticate } from './auth';
import { cors } from './cors';
import { openApiDocument } from './openapi/document';
import { apiRateLimit } from './rate-limit';
import { refuseUnknownPaths } from './known-paths';
import { route } from './route-doc';
import { authRouter } from './routes/auth';
import { usersRouter } from './routes/users';
import type { AppDeps } from './deps';
import { errorMiddleware, notFoundHandler } from './errors';
import { redactRequestLog } from './log-redaction';
import { refuseNul } from './nul';
import { isContactImportPath } from './routes/contact-bulk';
import { contactsRouter } from './routes/contacts';
import { campaignsRouter } from './routes/campaigns';
import { filesRouter, mediaRouter } from './routes/files';
import { conversationsRouter } from './routes/conversations';
import { messagesRouter } from './routes/conversation-create';
import { consoleRouter } from './routes/console';
import { healthRouter } from './routes/health';
import { metricsRouter } from './routes/metrics';
import { statsRouter } from './routes/stats';
import { workerStatusRouter } from './routes/worker-status';
import { analyticsRouter } from './routes/analytics';
import { leadsRouter } from './routes/leads';
import { operatorRouter } from './routes/operator';
import { templatesRouter } from './routes/templates';
import { twilioWebhookRouter } from './routes/twilio-webhook';
import { whatsAppWebhookRouter } from './routes/whatsapp-webhook';
import { webhookLogsRouter } from './routes/webhook-logs';
import { numbersRouter } from './routes/numbers';
import { aiConfigurationsRouter } from './routes/ai-configurations';
import { adminSettingsRouter } from './routes/admin-settings';

/** TRUST_PROXY as Express takes it: a hop count, a boolean, or a list of addresses and subnets. */
export function trustProxySetting(value: string): number | boolean | string {
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

/** Builds the Express app without listening, so tests drive it with real dependencies. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind a proxy the per-address limits (logins) must see the caller, not the proxy (TRUST_PROXY).
  if (deps.trustProxy !== undefined) app.set('trust proxy', trustProxySetting(deps.trustProxy));
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : `req_${randomUUID()}`;
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Webhook traffic is high-volume and healthy; log its failures only.
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/live' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
      // The webhook handshake carries hub.verify_token in its query: URL and query are logged without it.
      serializers: { req: redactRequestLog },
    }),
  );

  // Webhooks parse their own raw body (the signature covers the exact bytes).
  const webhook = whatsAppWebhookRouter(deps);
  app.use('/webhooks/whatsapp', webhook);
  app.use('/webhook', webhook);
  app.use('/webhooks/twilio', twilioWebhookRouter(deps));

  const json = express.json({ limit: deps.bodyLimit ?? '256kb' });
  // The contact import takes up to 5 MB (JSON or CSV) and reads it itself, after authentication.
  app.use((req, res, next) => (isContactImportPath(req.path) ? next() : json(req, res, next)));
  // Path, query and JSON body; the contact import checks its own body once it has read it.
  app.use(refuseNul);
  app.use(healthRouter(deps));
  app.use(metricsRouter(deps));
  app.use(consoleRouter(deps));
  app.use(mediaRouter(deps));

  // Built on first request, once every route is registered; the route table is its index.
  let openApi: Record<string, unknown> | undefined;
  app.get(
    '/openapi.json',
    route({ summary: 'This API as an OpenAPI 3.1 document', access: 'public', tag: 'system', responses: { 200: 'The OpenAPI document' } }, () => {
      openApi ??= openApiDocument(app, { version: deps.version });
      return openApi;
    }),
  );
  // Swagger UI's assets come from the swagger-ui-dist package: /docs works with no internet.
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' }, customSiteTitle: 'WhatsApp assistant API' }));

  const tokens = deps.tokens ?? tokenSettings(randomBytes(32).toString('hex'), 900, 30 * 86_400);
  // Before authentication: a browser's preflight carries no credentials.
  app.use('/api/v1', cors(deps.corsOrigins ?? []));
  const v1 = express.Router();
  // An unknown path is a 404 with or without a credential, not a 401 (known-paths.ts).
  v1.use(refuseUnknownPaths(v1));
  // Login and refresh come before authentication: they are how a user gets a credential.
  v1.use('/auth', authRouter({ ...deps, tokens }));
  v1.use(authenticate({ apiKeys: deps.apiKeys, tokens, db: deps.db }));
  v1.use(...apiRateLimit(deps.rateLimits ?? { perMinute: 100, perHour: 6000 }));
  v1.use('/users', usersRouter(deps));
  v1.use('/conversations', conversationsRouter(deps));
  v1.use('/messages', messagesRouter(deps));
  v1.use('/campaigns', campaignsRouter(deps));
  v1.use('/contacts', contactsRouter(deps));
  v1.use('/templates', templatesRouter(deps));
  v1.use('/leads', leadsRouter(deps));
  v1.use('/analytics', analyticsRouter(deps));
  v1.use('/webhook-logs', webhookLogsRouter(deps));
  v1.use('/numbers', numbersRouter(deps));
  v1.use('/ai-configurations', aiConfigurationsRouter(deps));
  v1.use('/admin', adminSettingsRouter(deps));
  v1.use('/files', filesRouter(deps));
  v1.use(operatorRouter(deps));
  v1.use(statsRouter(deps));
  v1.use(workerStatusRouter(deps));
  app.use('/api/v1', v1);

  app.use(notFoundHandler);
  app.use(errorMiddleware);
  return app;
}
