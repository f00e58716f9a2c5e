import { Router } from 'express';
import { z } from 'zod';
import { labelField } from '../../contacts/fields';
import { phoneNumberField } from '../../contacts/phone-number';
import { addPhone, deletePhone, phonesOf, setPrimaryPhone, updatePhone, verifyPhone } from '../../db/contact-phones';
import { READ_ROLES, requireRole } from '../auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { PhoneEntry, phoneView, toNewPhone } from './contact-schemas';
import { requireId } from '../ids';

const PhoneUpdate = z.object({
  phone_number: phoneNumberField.optional(),
  label: labelField,
  is_primary: z.boolean().optional(),
});

const notFound = (id: number) => new HttpError('NOT_FOUND', `Phone number ${id} not found`);

/** A contact's numbers: one is the primary, the one campaigns and chats use first. */
export function contactPhonesRouter(deps: AppDeps): Router {
  const router = Router();
  const write = requireRole('marketer');

  router.get('/:id/phone-numbers', requireRole(...READ_ROLES), async (req, res) => {
    const id = requireId(req.params.id, 'Contact');
    const exists = await deps.db.selectFrom('contacts').select('id').where('id', '=', id).executeTakeFirst();
    if (!exists) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
    const phones = (await phonesOf(deps.db, [id])).get(id) ?? [];
    res.json({ phone_numbers: phones.map(phoneView) });
  });

  router.post('/:id/phone-numbers', write, async (req, res) => {
    const id = requireId(req.params.id, 'Contact');
    const added = await addPhone(deps.db, id, toNewPhone(PhoneEntry.parse(req.body)));
    if (!added) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
    res.status(201).json(phoneView(added));
  });

  router.put('/phone-numbers/:phoneId', write, async (req, res) => {
    const phoneId = requireId(req.params.phoneId, 'Phone number');
    const b = PhoneUpdate.parse(req.body);
    const updated = await updatePhone(deps.db, phoneId, { phone: b.phone_number, label: b.label, isPrimary: b.is_primary });
    if (!updated) throw notFound(phoneId);
    res.json(phoneView(updated));
  });

  router.delete('/phone-numbers/:phoneId', write, async (req, res) => {
    const phoneId = requireId(req.params.phoneId, 'Phone number');
    if (!(await deletePhone(deps.db, phoneId))) throw notFound(phoneId);
    res.status(204).end();
  });

  router.post('/phone-numbers/:phoneId/set-primary', write, async (req, res) => {
    const phoneId = requireId(req.params.phoneId, 'Phone number');
    const updated = await setPrimaryPhone(deps.db, phoneId);
    if (!updated) throw notFound(phoneId);
    res.json(phoneView(updated));
  });

  router.post('/phone-numbers/:phoneId/verify', write, async (req, res) => {
    const phoneId = requireId(req.params.phoneId, 'Phone number');
    const verified = await verifyPhone(deps.db, phoneId);
    if (verified === undefined) throw notFound(phoneId);
    if (verified === null) {
      throw new HttpError(
        'CONFLICT',
        'This number has not written to the business yet: a WhatsApp number is verified once its owner has sent us a message',
        { phone_id: phoneId },
      );
    }
    res.json(phoneView(verified));
  });

  return router;
}
