import type { Harness } from './harness';
import { eventually } from './eventually';

let seq = 0;
const runPrefix = String(Date.now() % 1000).padStart(3, '0') + String(process.pid % 10);

/** Valid, unique Indian mobile numbers as WhatsApp ids ("919…", 12 digits). */
export function uniqueWaIds(n: number): string[] {
  return Array.from({ length: n }, () => `919${runPrefix}${String(++seq).padStart(5, '0')}`);
}

export const uniqueTag = (name: string) => `${name}-${Date.now().toString(36)}-${++seq}`;

export async function createTemplate(h: Harness, body = 'Hi {{first_name}}, our spring sale starts today!', status = 'APPROVED') {
  const res = await h.api('POST', '/api/v1/templates', {
    body: { name: `spring_${Date.now().toString(36)}_${++seq}`, language: 'en', category: 'MARKETING', body, status },
  });
  if (res.status !== 201) throw new Error(`template: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; name: string };
}

export interface ContactSpec {
  waId: string;
  firstName?: string;
  tags: string[];
  optIn?: boolean;
}

/** Imports contacts through the bulk import API and returns their ids by wa_id. */
export async function importContacts(h: Harness, contacts: ContactSpec[]): Promise<Map<string, number>> {
  const res = await h.api('POST', '/api/v1/contacts/bulk/import', {
    body: {
      contacts: contacts.map((c) => ({ phone: `+${c.waId}`, first_name: c.firstName ?? null, tags: c.tags, opt_in: c.optIn ?? true })),
    },
  });
  if (res.status !== 200 || res.body.errors.length) throw new Error(`import: ${res.status} ${JSON.stringify(res.body)}`);
  const rows = await h.db
    .selectFrom('contact_phone_numbers')
    .select(['wa_id', 'contact_id'])
    .where(
      'wa_id',
      'in',
      contacts.map((c) => c.waId),
    )
    .execute();
  return new Map(rows.map((r) => [r.wa_id, r.contact_id]));
}

export async function createCampaign(h: Harness, body: Record<string, unknown>) {
  const res = await h.api('POST', '/api/v1/campaigns', { body: { name: `campaign ${++seq}`, ...body } });
  if (res.status !== 201) throw new Error(`campaign: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
}

export async function campaign(h: Harness, id: number) {
  const res = await h.api('GET', `/api/v1/campaigns/${id}`);
  return res.body;
}

export function waitForStatus(h: Harness, id: number, status: string, timeoutMs = 60_000) {
  return eventually(async () => {
    const c = await campaign(h, id);
    if (c.status !== status) throw new Error(`campaign ${id} is ${c.status}, waiting for ${status}`);
    return c;
  }, timeoutMs);
}

/** Graph sends per recipient, for the given recipients. */
export function sendsPerRecipient(h: Harness, waIds: string[]): Map<string, number> {
  const wanted = new Set(waIds);
  const counts = new Map<string, number>();
  for (const s of h.graph.sends) if (wanted.has(s.to)) counts.set(s.to, (counts.get(s.to) ?? 0) + 1);
  return counts;
}
