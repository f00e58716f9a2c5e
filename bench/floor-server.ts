/**
 * The floor for the webhook: a bare Express app that only reads the raw body, checks the same
 * X-Hub-Signature-256 as the API (src/api/webhook/signature.ts) and answers 200. Run as its own
 * process, like the API; prints its port on stdout.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../src/api/webhook/signature';

const secret = process.env.FLOOR_APP_SECRET ?? '';
const app = express();
app.post('/webhooks/whatsapp', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (!verifySignature(raw, req.get('x-hub-signature-256'), secret)) {
    res.status(401).json({ error: 'bad signature' });
    return;
  }
  res.json({ status: 'received' });
});
const server = app.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
