import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { apiKeyAuth } from './auth';
import type { AppDeps } from './deps';
import { errorMiddleware, notFoundHandler } from './errors';
import { isContactImportPath } from './routes/contact-bulk';
import { contactsRouter } from './routes/contacts';
import { campaignsRouter } from './routes/campaigns';
import { conversationsRouter } from './routes/conversations';
import { healthRouter } from './routes/health';
import { leadsRouter } from './routes/leads';
import { operatorRouter } from './routes/operator';
import { templatesRouter } from './routes/templates';
import { whatsAppWebhookRouter } from './routes/whatsapp-webhook';

/** Builds the Express app without listening, so tests drive it with real dependencies. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
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
      autoLogging: { ignore: (req) => req.url === '/health' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
    }),
  );

  // Webhooks parse their own raw body (the signature covers the exact bytes).
  const webhook = whatsAppWebhookRouter(deps);
  app.use('/webhooks/whatsapp', webhook);
  app.use('/webhook', webhook);

  const json = express.json({ limit: '256kb' });
  // The contact import takes up to 5 MB (JSON or CSV) and reads it itself, after authentication.
  app.use((req, res, next) => (isContactImportPath(req.path) ? next() : json(req, res, next)));
  app.use(healthRouter(deps));

  const v1 = express.Router();
  v1.use(apiKeyAuth(deps.apiKeys));
  v1.use('/conversations', conversationsRouter(deps));
  v1.use('/campaigns', campaignsRouter(deps));
  v1.use('/contacts', contactsRouter(deps));
  v1.use('/templates', templatesRouter(deps));
  v1.use('/leads', leadsRouter(deps));
  v1.use(operatorRouter(deps));
  app.use('/api/v1', v1);

  app.use(notFoundHandler);
  app.use(errorMiddleware);
  return app;
}
