import type { WhatsAppNumber } from '../../db/schema';
import { conversationCounts, listNumberRows } from '../../db/whatsapp-numbers';
import { maskedCredentials, openCredentials } from '../../numbers/credentials';
import { DEFAULT_NUMBER_ID, numbersOf, toBusinessNumber } from '../../numbers/registry';
import type { AppDeps } from '../deps';
import type { NumberViewT } from './number-schemas';

/**
 * A number as the admin routes show it: never its credentials, only which are set (masked). The
 * default number is this process's environment (its number, provider and credentials, as the
 * registry routes by them), with its row's name, AI configuration and timestamps; the others are
 * their rows as stored now (not the registry's cache, so a write shows at once).
 */
export async function numberViews(deps: AppDeps, rows: WhatsAppNumber[]): Promise<NumberViewT[]> {
  const counts = await conversationCounts(
    deps.db,
    rows.map((r) => r.id),
  );
  const views: NumberViewT[] = [];
  for (const row of rows) {
    const conversations = counts.get(row.id) ?? 0;
    if (row.id === DEFAULT_NUMBER_ID) {
      const d = numbersOf(deps).defaultNumber;
      views.push({
        ...base(row, conversations),
        phone_number_id: d.phoneNumberId ?? '',
        display_number: d.displayNumber ?? null,
        provider: d.provider,
        enabled: true,
        is_default: true,
        credentials_source: 'environment',
        credentials: null,
        credentials_error: null,
      });
      continue;
    }
    let credentials: Record<string, string | null> | null = null;
    let credentialsError: string | null = null;
    try {
      credentials = maskedCredentials(openCredentials(toBusinessNumber(row), deps.secrets));
    } catch (err) {
      credentialsError = (err as Error).message;
    }
    views.push({ ...base(row, conversations), credentials_source: 'database', credentials, credentials_error: credentialsError });
  }
  return views;
}

function base(row: WhatsAppNumber, conversations: number) {
  return {
    id: row.id,
    phone_number_id: row.phone_number_id,
    display_number: row.display_number,
    name: row.name,
    provider: row.provider,
    enabled: row.enabled,
    is_default: row.is_default,
    ai_configuration_id: row.ai_configuration_id,
    conversations,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function numberView(deps: AppDeps, row: WhatsAppNumber): Promise<NumberViewT> {
  return (await numberViews(deps, [row]))[0]!;
}

/** Every number, the default first (its row is number 1, and rows come in id order). */
export async function allNumberViews(deps: AppDeps): Promise<NumberViewT[]> {
  return numberViews(deps, await listNumberRows(deps.db));
}
