import { Router } from 'express';
import { z } from 'zod';
import { PG_FOREIGN_KEY_VIOLATION, PG_RESTRICT_VIOLATION, isUniqueViolation, pgError } from '../../db/pg-errors';
import type { Template } from '../../db/schema';
import { campaignIdsUsingTemplate, createTemplate, deleteTemplate, getTemplate, listTemplates, updateTemplate } from '../../db/templates';
import { renderTemplate, TemplateRenderError, templateVariables } from '../../templates/render';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { parseId } from '../ids';
import { OFFSET_FOR_SKIP } from '../paging';
import { READ, route } from '../route-doc';

const Status = z.enum(['APPROVED', 'PENDING', 'REJECTED']);
const Category = z.enum(['MARKETING', 'UTILITY', 'AUTHENTICATION']);

// Meta's own rules, so a template kept here can be submitted to Meta unchanged.
const Fields = z.object({
  name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be 1 to 512 lowercase letters, digits or underscores'),
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code such as "en" or "en_US"'),
  category: Category,
  // 1024 characters is WhatsApp's limit for a template body.
  body: z
    .string()
    .max(1024)
    .refine((s) => s.trim() !== '', 'must not be empty'),
});
const CreateBody = Fields.extend({ status: Status.default('PENDING') });
const UpdateBody = Fields.extend({ status: Status })
  .partial()
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'nothing to update: send name, language, category, body or status');

const ListQuery = z.object({
  status: Status.optional(),
  category: Category.optional(),
  language: z.string().max(16).optional(),
  search: z.string().max(512).optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const RenderBody = z.object({
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});

const IdParams = z.object({ id: z.string().describe('template id') });
const TemplateView = z.object({
  id: z.number().int(),
  name: z.string(),
  language: z.string(),
  category: Category,
  body: z.string(),
  status: Status,
  variables: z.array(z.string()).describe('The {{variables}} of the body, in order'),
  created_at: z.date(),
  updated_at: z.date(),
});
const one = (description: string) => ({ 200: { description, schema: TemplateView } });

function templateView(t: Template) {
  return { ...t, variables: templateVariables(t.body) };
}

async function requireTemplate(deps: AppDeps, raw: unknown): Promise<Template> {
  const id = parseId(raw);
  const found = id === undefined ? undefined : await getTemplate(deps.db, id);
  if (!found) throw new HttpError('NOT_FOUND', `Template ${String(raw)} not found`);
  return found;
}

function duplicateName(err: unknown): never {
  if (isUniqueViolation(err)) {
    throw new HttpError('CONFLICT', 'A template with this name and language already exists');
  }
  throw err;
}

/** Message templates kept locally (seed 002); campaigns send them. */
export function templatesRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['marketer'] as const;

  router.get(
    '/',
    route(
      {
        summary: 'List templates',
        access: READ,
        query: ListQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: {
          200: {
            description: 'A page of templates',
            schema: z.object({ templates: z.array(TemplateView), total: z.number().int(), skip: z.number().int(), limit: z.number().int() }),
          },
        },
      },
      async ({ query: q }) => {
        const { rows, total } = await listTemplates(deps.db, q);
        return { templates: rows.map(templateView), total, skip: q.skip, limit: q.limit };
      },
    ),
  );

  router.post(
    '/',
    route(
      {
        summary: 'Create a template',
        access: write,
        body: CreateBody,
        responses: { 201: { description: 'Created', schema: TemplateView } },
        errors: ['CONFLICT'],
      },
      async ({ body, res }) => {
        const created = await createTemplate(deps.db, body).catch(duplicateName);
        res.status(201).json(templateView(created));
      },
    ),
  );

  router.get(
    '/:id',
    route({ summary: 'Get a template', access: READ, params: IdParams, responses: one('The template'), errors: ['NOT_FOUND'] }, async ({ params }) =>
      templateView(await requireTemplate(deps, params.id)),
    ),
  );

  router.put(
    '/:id',
    route(
      {
        summary: 'Change a template',
        description: 'Refused (409) while a scheduled, running or paused campaign uses it.',
        access: write,
        params: IdParams,
        body: UpdateBody,
        responses: one('The updated template'),
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body: changes }) => {
        const current = await requireTemplate(deps, params.id);
        // A campaign reads its template at every page it sends: changing it mid-run would change the
        // message half-way through the audience.
        const active = await deps.db
          .selectFrom('campaigns')
          .select('id')
          .where('template_id', '=', current.id)
          .where('status', 'in', ['scheduled', 'running', 'paused'])
          .execute();
        if (active.length > 0) {
          throw new HttpError('CONFLICT', 'Template is used by a scheduled or running campaign; stop it first', { campaign_ids: active.map((c) => c.id) });
        }
        const updated = await updateTemplate(deps.db, current.id, changes).catch(duplicateName);
        if (!updated) throw new HttpError('NOT_FOUND', `Template ${current.id} not found`);
        return templateView(updated);
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      { summary: 'Delete a template no campaign uses', access: write, params: IdParams, responses: { 204: 'Deleted' }, errors: ['NOT_FOUND', 'CONFLICT'] },
      async ({ params, res }) => {
        const { id } = await requireTemplate(deps, params.id);
        try {
          await deleteTemplate(deps.db, id);
        } catch (err) {
          // The foreign key decides (no check-then-delete race); the lookup only explains the refusal.
          const { code } = pgError(err);
          if (code !== PG_FOREIGN_KEY_VIOLATION && code !== PG_RESTRICT_VIOLATION) throw err;
          const campaignIds = await campaignIdsUsingTemplate(deps.db, id);
          throw new HttpError('CONFLICT', `Template ${id} is used by ${campaignIds.length} campaign(s)`, { campaign_ids: campaignIds });
        }
        res.status(204).end();
      },
    ),
  );

  // A preview writes nothing, so every reader may use it.
  router.post(
    '/:id/render',
    route(
      {
        summary: 'Preview a template with variables',
        description: 'Names every missing variable (400).',
        access: READ,
        params: IdParams,
        body: RenderBody,
        responses: { 200: { description: 'The rendered text', schema: z.object({ text: z.string(), variables: z.array(z.string()) }) } },
        errors: ['NOT_FOUND'],
      },
      async ({ params, body: { variables } }) => {
        const template = await requireTemplate(deps, params.id);
        try {
          return { text: renderTemplate(template.body, variables), variables: templateVariables(template.body) };
        } catch (err) {
          if (!(err instanceof TemplateRenderError)) throw err;
          throw new HttpError('VALIDATION_ERROR', err.message, { missing: err.missing });
        }
      },
    ),
  );

  return router;
}
