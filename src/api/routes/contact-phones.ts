import { Router } from 'express';
import { z } from 'zod';
import { labelField } from '../../contacts/fields';
import { phoneNumberField } from '../../contacts/phone-number';
import { addPhone, deletePhone, phonesOf, setPrimaryPhone, updatePhone, verifyPhone } from '../../db/contact-phones';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { ContactIdParams, PhoneEntry, PhoneView, phoneView, toNewPhone } from './contact-schemas';
import { requireId } from '../ids';
import { READ, route } from '../route-doc';

const PhoneUpdate = z.object({
  phone_number: phoneNumberField.optional(),
  label: labelField,
  is_primary: z.boolean().optional(),
});

const PhoneParams = z.object({ phoneId: z.string().describe('phone number id') });
const phone = (description: string) => ({ 200: { description, schema: PhoneView } });

const notFound = (id: number) => new HttpError('NOT_FOUND', `Phone number ${id} not found`);

/** A contact's numbers: one is the primary, the one campaigns and chats use first. */
export function contactPhonesRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['marketer'] as const;

  router.get(
    '/:id/phone-numbers',
    route(
      {
        summary: "A contact's phone numbers",
        access: READ,
        params: ContactIdParams,
        responses: { 200: { description: 'The numbers', schema: z.object({ phone_numbers: z.array(PhoneView) }) } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const id = requireId(params.id, 'Contact');
        const exists = await deps.db.selectFrom('contacts').select('id').where('id', '=', id).executeTakeFirst();
        if (!exists) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        const phones = (await phonesOf(deps.db, [id])).get(id) ?? [];
        return { phone_numbers: phones.map(phoneView) };
      },
    ),
  );

  router.post(
    '/:id/phone-numbers',
    route(
      {
        summary: 'Add a phone number to a contact',
        access: write,
        params: ContactIdParams,
        body: PhoneEntry,
        responses: { 201: { description: 'Added', schema: PhoneView } },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body, res }) => {
        const id = requireId(params.id, 'Contact');
        const added = await addPhone(deps.db, id, toNewPhone(body));
        if (!added) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        res.status(201).json(phoneView(added));
      },
    ),
  );

  router.put(
    '/phone-numbers/:phoneId',
    route(
      {
        summary: 'Change a phone number, its label or primary flag',
        access: write,
        params: PhoneParams,
        body: PhoneUpdate,
        responses: phone('The number'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body: b }) => {
        const phoneId = requireId(params.phoneId, 'Phone number');
        const updated = await updatePhone(deps.db, phoneId, { phone: b.phone_number, label: b.label, isPrimary: b.is_primary });
        if (!updated) throw notFound(phoneId);
        return phoneView(updated);
      },
    ),
  );

  router.delete(
    '/phone-numbers/:phoneId',
    route(
      { summary: 'Delete a phone number', access: write, params: PhoneParams, responses: { 204: 'Deleted' }, errors: ['NOT_FOUND', 'CONFLICT'] },
      async ({ params, res }) => {
        const phoneId = requireId(params.phoneId, 'Phone number');
        if (!(await deletePhone(deps.db, phoneId))) throw notFound(phoneId);
        res.status(204).end();
      },
    ),
  );

  router.post(
    '/phone-numbers/:phoneId/set-primary',
    route(
      { summary: "Make this the contact's primary number", access: write, params: PhoneParams, responses: phone('The number'), errors: ['NOT_FOUND'] },
      async ({ params }) => {
        const phoneId = requireId(params.phoneId, 'Phone number');
        const updated = await setPrimaryPhone(deps.db, phoneId);
        if (!updated) throw notFound(phoneId);
        return phoneView(updated);
      },
    ),
  );

  router.post(
    '/phone-numbers/:phoneId/verify',
    route(
      {
        summary: 'Mark a number verified',
        description: 'Only a number whose owner has written to the business can be verified (409 otherwise).',
        access: write,
        params: PhoneParams,
        responses: phone('The number'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params }) => {
        const phoneId = requireId(params.phoneId, 'Phone number');
        const verified = await verifyPhone(deps.db, phoneId);
        if (verified === undefined) throw notFound(phoneId);
        if (verified === null) {
          throw new HttpError(
            'CONFLICT',
            'This number has not written to the business yet: a WhatsApp number is verified once its owner has sent us a message',
            { phone_id: phoneId },
          );
        }
        return phoneView(verified);
      },
    ),
  );

  return router;
}
