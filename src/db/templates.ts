import { sql, type Insertable, type Updateable } from 'kysely';
import type { Db } from './database';
import type { Template, TemplateCategory, TemplateStatus, TemplatesTable } from './schema';

export interface TemplateFilters {
  status?: TemplateStatus;
  category?: TemplateCategory;
  language?: string;
  /** Substring of the name. */
  search?: string;
  skip: number;
  limit: number;
}

export type NewTemplate = Insertable<TemplatesTable>;
export type TemplateChanges = Omit<Updateable<TemplatesTable>, 'id' | 'created_at' | 'updated_at'>;

/** Postgres error codes the API turns into 409s. */

export async function createTemplate(db: Db, values: NewTemplate): Promise<Template> {
  return db.insertInto('templates').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function getTemplate(db: Db, id: number): Promise<Template | undefined> {
  return db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst();
}

function listBase(db: Db, f: Omit<TemplateFilters, 'skip' | 'limit'>) {
  let q = db.selectFrom('templates');
  if (f.status) q = q.where('status', '=', f.status);
  if (f.category) q = q.where('category', '=', f.category);
  if (f.language) q = q.where('language', '=', f.language);
  // strpos rather than LIKE: names are full of "_", which LIKE would treat as a wildcard.
  if (f.search) q = q.where(sql<boolean>`strpos(lower(name), ${f.search.toLowerCase()}) > 0`);
  return q;
}

export async function listTemplates(db: Db, f: TemplateFilters): Promise<{ rows: Template[]; total: number }> {
  const [rows, total] = await Promise.all([
    listBase(db, f).selectAll().orderBy('id', 'desc').limit(f.limit).offset(f.skip).execute(),
    listBase(db, f)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(total.n) };
}

export async function updateTemplate(db: Db, id: number, changes: TemplateChanges): Promise<Template | undefined> {
  return db
    .updateTable('templates')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** True when a row was deleted; a campaign still using it makes Postgres refuse (23503; 23001 on Postgres 18). */
export async function deleteTemplate(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('templates').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function campaignIdsUsingTemplate(db: Db, id: number): Promise<number[]> {
  const rows = await db.selectFrom('campaigns').select('id').where('template_id', '=', id).orderBy('id').execute();
  return rows.map((r) => r.id);
}
