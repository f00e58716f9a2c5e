import { Router } from 'express';
import { z } from 'zod';
import { contactFieldsShape, fieldsOf } from '../../contacts/fields';
import { phoneNumberField } from '../../contacts/phone-number';
import { createContact, deleteContact, getContact, listContacts, setOptIn, updateContact } from '../../db/contacts';
import type { Db } from '../../db/database';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { contactBulkRouter } from './contact-bulk';
import { contactPhonesRouter } from './contact-phones';
import { ContactIdParams, ContactView, PhoneEntry, contactErrors, contactView, toNewPhone } from './contact-schemas';
import { requireId } from '../ids';
import { OFFSET_FOR_SKIP } from '../paging';
import { READ, route } from '../route-doc';

const consent = {
  opt_in_status: z.boolean().optional(),
  opt_in_source: z.string().trim().min(1).max(100).optional(),
};

const CreateContact = z
  .object({
    ...contactFieldsShape,
    ...consent,
    phone: phoneNumberField.optional(),
    phone_numbers: z.array(PhoneEntry).min(1).max(20).optional(),
  })
  .superRefine((b, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    // Campaigns reach people through a number, so a contact without one would be no use.
    if (!b.phone && !b.phone_numbers) issue('phone', 'A phone number is required (phone or phone_numbers)');
    if (b.phone && b.phone_numbers) issue('phone', 'Give phone or phone_numbers, not both');
    const list = b.phone_numbers ?? [];
    if (list.filter((p) => p.is_primary).length > 1) issue('phone_numbers', 'Only one number can be primary');
    if (new Set(list.map((p) => p.phone_number.waId)).size < list.length) issue('phone_numbers', 'The same number is listed twice');
  });

const movedToPhoneRoutes = z.never({ error: 'Phone numbers change through /contacts/{id}/phone-numbers' }).optional();
const UpdateContact = z.object({ ...contactFieldsShape, ...consent, phone: movedToPhoneRoutes, phone_numbers: movedToPhoneRoutes });

const csv = (v: unknown) =>
  v === undefined
    ? []
    : [v]
        .flat()
        .flatMap((s) => String(s).split(','))
        .map((s) => s.trim())
        .filter(Boolean);
const ListQuery = z.object({
  search: z.string().trim().max(200).optional(),
  // ?tag=a&tag=b or ?tag=a,b: the contact has all of them.
  tag: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform(csv),
  company: z.string().trim().max(200).optional(),
  opt_in_status: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const OptIn = z.object({ source: z.string().trim().min(1).max(100).default('api') });
const OptOut = OptIn.extend({ reason: z.string().trim().max(1000).optional() });

const ContactList = z.object({ contacts: z.array(ContactView), total: z.number().int(), skip: z.number().int(), limit: z.number().int() });
const one = (description: string) => ({ 200: { description, schema: ContactView } });

async function requireContact(db: Db, id: number) {
  const found = await getContact(db, id);
  if (!found) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
  return found;
}

/** Seed 004's contact book: marketers write, every reading role reads. */
export function contactsRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['marketer'] as const;
  router.use(contactBulkRouter(deps));
  router.use(contactPhonesRouter(deps));

  router.post(
    '/',
    route(
      {
        summary: 'Create a contact with one or more phone numbers',
        description: 'Numbers are validated and stored in E.164. A number that opted out before (even on a deleted contact) stays opted out.',
        access: write,
        body: CreateContact,
        responses: { 201: { description: 'Created', schema: ContactView } },
        errors: ['CONFLICT'],
      },
      async ({ body: b, res }) => {
        const id = await createContact(deps.db, {
          fields: fieldsOf(b),
          tags: b.tags,
          attributes: b.attributes,
          // Created "not opted in" means never asked, not opted out: a later list import may still opt them in.
          opt: b.opt_in_status ? { optIn: true, source: b.opt_in_source ?? 'api', at: new Date() } : undefined,
          phones: b.phone ? [{ ...b.phone, isPrimary: true }] : b.phone_numbers!.map(toNewPhone),
        });
        res.status(201).json(contactView(await requireContact(deps.db, id)));
      },
    ),
  );

  router.get(
    '/',
    route(
      {
        summary: 'List contacts: search, tags (all of them), company, opt-in',
        access: READ,
        query: ListQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: { 200: { description: 'A page of contacts', schema: ContactList } },
      },
      async ({ query: q }) => {
        const { rows, total } = await listContacts(deps.db, {
          search: q.search || undefined,
          tags: q.tag,
          company: q.company || undefined,
          optIn: q.opt_in_status,
          skip: q.skip,
          limit: q.limit,
        });
        return { contacts: rows.map(contactView), total, skip: q.skip, limit: q.limit };
      },
    ),
  );

  router.get(
    '/:id',
    route({ summary: 'Get a contact', access: READ, params: ContactIdParams, responses: one('The contact'), errors: ['NOT_FOUND'] }, async ({ params }) =>
      contactView(await requireContact(deps.db, requireId(params.id, 'Contact'))),
    ),
  );

  router.put(
    '/:id',
    route(
      {
        summary: 'Change a contact (numbers change through /phone-numbers)',
        access: write,
        params: ContactIdParams,
        body: UpdateContact,
        responses: one('The updated contact'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body: b }) => {
        const id = requireId(params.id, 'Contact');
        const found = await updateContact(deps.db, id, {
          fields: fieldsOf(b),
          tags: b.tags,
          attributes: b.attributes,
          // Consent goes through the same rule as the opt-in endpoints, so its time and source are recorded.
          opt: b.opt_in_status === undefined ? undefined : { optIn: b.opt_in_status, source: b.opt_in_source ?? 'api', at: new Date() },
        });
        if (!found) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        return contactView(await requireContact(deps.db, id));
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Delete a contact',
        description: "An opted-out contact's numbers stay suppressed, so a later import cannot opt them back in.",
        access: write,
        params: ContactIdParams,
        responses: { 204: 'Deleted' },
        errors: ['NOT_FOUND'],
      },
      async ({ params, res }) => {
        const id = requireId(params.id, 'Contact');
        if (!(await deleteContact(deps.db, id))) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        res.status(204).end();
      },
    ),
  );

  router.post(
    '/:id/opt-in',
    route(
      {
        summary: 'Opt a contact in to marketing, with the source',
        access: write,
        params: ContactIdParams,
        body: OptIn,
        responses: one('The contact'),
        errors: ['NOT_FOUND'],
      },
      async ({ params, body: b }) => {
        const id = requireId(params.id, 'Contact');
        if (!(await setOptIn(deps.db, id, true, { source: b.source, at: new Date() }))) throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        return contactView(await requireContact(deps.db, id));
      },
    ),
  );

  router.post(
    '/:id/opt-out',
    route(
      {
        summary: 'Opt a contact out of marketing, with source and reason',
        access: write,
        params: ContactIdParams,
        body: OptOut,
        responses: one('The contact'),
        errors: ['NOT_FOUND'],
      },
      async ({ params, body: b }) => {
        const id = requireId(params.id, 'Contact');
        if (!(await setOptIn(deps.db, id, false, { source: b.source, reason: b.reason, at: new Date() }))) {
          throw new HttpError('NOT_FOUND', `Contact ${id} not found`);
        }
        return contactView(await requireContact(deps.db, id));
      },
    ),
  );

  router.use(contactErrors);
  return router;
}
