import { Router } from 'express';
import { z } from 'zod';
import { handbackUpdate, operatorMessageUpdate, takeoverUpdate } from '../../workflows/definitions';
import { requireRole } from '../auth';
import { updateChat } from '../chat-updates';
import type { AppDeps } from '../deps';
import { phoneField } from '../phone';

const ModeBody = z.object({ phone: phoneField, operator: z.string().trim().min(1).max(100).optional() });

const MessageBody = z
  .object({
    phone: phoneField,
    operator: z.string().trim().min(1).max(100).optional(),
    message: z.string().max(4096, 'message may be at most 4096 characters').nullish(),
    messageId: z.string().nullish(),
    media: z
      .object({
        id: z.string().min(1).optional(),
        link: z.url().optional(),
        mimeType: z.string().min(3).optional(),
        caption: z.string().max(1024).optional(),
        filename: z.string().max(240).optional(),
      })
      .refine((m) => Boolean(m.id) !== Boolean(m.link), 'media needs exactly one of id or link')
      .nullish(),
  })
  .refine((b) => Boolean(b.message?.trim()) || Boolean(b.media), { message: 'Message text or media is required', path: ['message'] });

/** Seed 001's operator endpoints, with their documented success bodies. */
export function operatorRouter({ temporal }: AppDeps): Router {
  const router = Router();
  const operator = requireRole('operator');

  router.post('/takeover', operator, async (req, res) => {
    const body = ModeBody.parse(req.body ?? {});
    await updateChat(temporal, body.phone, takeoverUpdate, { operator: body.operator ?? req.principal?.label }, 10_000);
    res.json({ status: 'takeover_complete' });
  });

  router.post('/handback', operator, async (req, res) => {
    const body = ModeBody.parse(req.body ?? {});
    await updateChat(temporal, body.phone, handbackUpdate, { operator: body.operator ?? req.principal?.label }, 10_000);
    res.json({ status: 'handback_complete' });
  });

  router.post('/operator-message', operator, async (req, res) => {
    const body = MessageBody.parse(req.body ?? {});
    const text = body.message?.trim() ? body.message : undefined;
    const { wamid } = await updateChat(
      temporal,
      body.phone,
      operatorMessageUpdate,
      { operator: body.operator ?? req.principal?.label, text, media: body.media ?? undefined },
      60_000,
    );
    res.json({ status: 'success', message: 'Message sent', message_id: wamid });
  });

  return router;
}
