import { randomUUID } from 'node:crypto';

export interface TextMessageSpec {
  from: string;
  text?: string;
  wamid?: string;
  /** Epoch seconds; defaults to now. */
  timestamp?: number;
  type?: string;
  extra?: Record<string, unknown>;
  name?: string;
}

export const newWamid = () => `wamid.test-${randomUUID()}`;

export function messageEntry(m: TextMessageSpec) {
  const type = m.type ?? 'text';
  return {
    from: m.from,
    id: m.wamid ?? newWamid(),
    timestamp: String(m.timestamp ?? Math.floor(Date.now() / 1000)),
    type,
    ...(type === 'text' ? { text: { body: m.text ?? '' } } : {}),
    ...(m.extra ?? {}),
  };
}

/** A webhook body shaped like Meta's: one entry, one change, any messages and statuses. */
export function webhookBody(opts: {
  messages?: TextMessageSpec[];
  statuses?: Record<string, unknown>[];
  /** The business number the webhook is for (metadata.phone_number_id); default the harness's default number. */
  phoneNumberId?: string;
}) {
  const messages = (opts.messages ?? []).map(messageEntry);
  const names = new Map<string, string>();
  for (const m of opts.messages ?? []) if (m.name || !names.has(m.from)) names.set(m.from, m.name ?? 'Test User');
  const contacts = [...names.entries()].map(([wa_id, name]) => ({ wa_id, profile: { name } }));
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA_ID',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000000', phone_number_id: opts.phoneNumberId ?? 'PNID' },
              ...(contacts.length ? { contacts } : {}),
              ...(messages.length ? { messages } : {}),
              ...(opts.statuses ? { statuses: opts.statuses } : {}),
            },
          },
        ],
      },
    ],
  };
}

export function randomPhone(): string {
  return `1555${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}
