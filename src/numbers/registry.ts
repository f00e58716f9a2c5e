import type { Db } from '../db/database';
import type { NumberProvider, WhatsAppNumber } from '../db/schema';
import type { SecretBox } from '../crypto/secrets';
import type { Logger } from '../logger';
import { ConsoleSender } from '../channels/console';
import { MetaGraphSender } from '../channels/meta-graph';
import { TwilioSender } from '../channels/twilio';
import type { WhatsAppSender } from '../channels/types';
import { openCredentials, type NumberCredentials } from './credentials';

/** The default number's id: the one the environment configures (migration 0011). */
export const DEFAULT_NUMBER_ID = 1;

/** The number the environment configures (WHATSAPP_* / TWILIO_*). */
export interface DefaultNumber {
  provider: NumberProvider;
  /**
   * Meta's phone_number_id, or the Twilio number's digits. Absent (the console provider without
   * WHATSAPP_PHONE_NUMBER_ID, a local run): every webhook not addressed to another number is its.
   */
  phoneNumberId?: string;
  displayNumber?: string;
}

/** A number as everything outside the admin routes sees it (credentials stay sealed until a send needs them). */
export interface BusinessNumber {
  id: number;
  phoneNumberId: string;
  displayNumber: string | null;
  name: string | null;
  provider: NumberProvider;
  enabled: boolean;
  isDefault: boolean;
  aiConfigurationId: number | null;
  credentialsEncrypted: string | null;
  updatedAt: number;
}

export type RouteResult = { number: BusinessNumber } | { number?: undefined; refused: 'unknown' | 'disabled'; known?: BusinessNumber };

export interface NumberRegistryOptions {
  db?: Db;
  defaultNumber: DefaultNumber;
  /** Decrypts stored credentials (CREDENTIALS_ENCRYPTION_KEY); absent: numbers with credentials cannot send. */
  secrets?: SecretBox;
  /** The default number's sender (the environment's); others are built from their credentials. */
  defaultSender?: WhatsAppSender;
  /** Where the providers' APIs are (WHATSAPP_API_BASE_URL, TWILIO_API_BASE_URL) and our public URL (Twilio status callbacks). */
  providers?: { graphBaseUrl: string; twilioBaseUrl: string; publicBaseUrl?: string };
  log?: Logger;
  /** How long a read of whatsapp_numbers is trusted: a change (disabled, new credentials) applies within this. */
  ttlMs?: number;
}

/** Digits only: how Twilio numbers and display numbers are compared. */
export const digitsOf = (n: string) => n.replace(/\D/g, '');

/**
 * The business's numbers: routes webhooks to them, builds their senders. The default number
 * (id 1) is this process's environment, never a database read, so processes configured for
 * different numbers (tests side by side) do not fight over its row; every other number is read
 * from whatsapp_numbers and cached for ttlMs (2 s), so every API and worker process sees a
 * disabled number as disabled within that.
 */
export class NumberRegistry {
  private rows?: { at: number; byId: Map<number, BusinessNumber>; secrets?: WebhookSecrets };
  private loading?: Promise<Map<number, BusinessNumber>>;
  private readonly senders = new Map<number, { updatedAt: number; sender: WhatsAppSender }>();
  readonly defaultNumber: DefaultNumber;

  constructor(private readonly options: NumberRegistryOptions) {
    this.defaultNumber = options.defaultNumber;
  }

  /** The default number as a record (its row's name and AI configuration come from the database). */
  async defaultRecord(): Promise<BusinessNumber> {
    // Its name and AI configuration only: the default number is served even while Postgres is away.
    const row = (await this.load().catch(() => undefined))?.get(DEFAULT_NUMBER_ID);
    const d = this.defaultNumber;
    return {
      id: DEFAULT_NUMBER_ID,
      phoneNumberId: d.phoneNumberId ?? '',
      displayNumber: d.displayNumber ?? null,
      name: row?.name ?? 'Default number (from the environment)',
      provider: d.provider,
      enabled: true,
      isDefault: true,
      aiConfigurationId: row?.aiConfigurationId ?? null,
      credentialsEncrypted: null,
      updatedAt: row?.updatedAt ?? 0,
    };
  }

  /** Every number, the default first. */
  async list(): Promise<BusinessNumber[]> {
    const rows = [...(await this.load()).values()].filter((n) => n.id !== DEFAULT_NUMBER_ID);
    return [await this.defaultRecord(), ...rows];
  }

  async byId(id: number): Promise<BusinessNumber | undefined> {
    if (id === DEFAULT_NUMBER_ID) return this.defaultRecord();
    return (await this.load()).get(id);
  }

  /**
   * The number a webhook is addressed to: Meta's metadata.phone_number_id, Twilio's To (its
   * digits). Unknown and disabled numbers are refused: nothing addressed to them is answered.
   */
  async route(provider: 'meta' | 'twilio', addressedTo: string | undefined): Promise<RouteResult> {
    const d = this.defaultNumber;
    const key = provider === 'twilio' ? digitsOf(addressedTo ?? '') : (addressedTo ?? '');
    if (key && d.phoneNumberId && d.provider === provider && key === d.phoneNumberId) return { number: await this.defaultRecord() };
    const other = key
      ? [...(await this.load()).values()].find((n) => n.id !== DEFAULT_NUMBER_ID && n.provider === provider && n.phoneNumberId === key)
      : undefined;
    if (other) return other.enabled ? { number: other } : { refused: 'disabled', known: other };
    // A local run without a configured number id answers whatever is not another number's.
    if (!d.phoneNumberId) return { number: await this.defaultRecord() };
    return { refused: 'unknown' };
  }

  /** The sender of a number (the environment's for the default); throws when the number cannot send. */
  async sender(numberId: number): Promise<WhatsAppSender> {
    if (numberId === DEFAULT_NUMBER_ID) {
      if (!this.options.defaultSender) throw new Error('this process has no sender for the default number');
      return this.options.defaultSender;
    }
    const number = await this.byId(numberId);
    if (!number) throw new NumberUnavailableError(`number ${numberId} does not exist`);
    const cached = this.senders.get(numberId);
    if (cached && cached.updatedAt === number.updatedAt) return cached.sender;
    const sender = this.buildSender(number);
    this.senders.set(numberId, { updatedAt: number.updatedAt, sender });
    return sender;
  }

  /** A number's credentials, decrypted (for its sender and the webhook signature checks). */
  credentials(number: BusinessNumber): NumberCredentials {
    return openCredentials(number, this.options.secrets);
  }

  /** Where the providers' APIs are: a number's sender and its check (check-number.ts) call them there. */
  get providers(): { graphBaseUrl: string; twilioBaseUrl: string; publicBaseUrl?: string } {
    return this.options.providers ?? { graphBaseUrl: 'https://graph.facebook.com/v21.0', twilioBaseUrl: 'https://api.twilio.com' };
  }

  /**
   * The webhook secrets of the numbers added at run time, for the providers' signatures: Meta
   * app secrets and verify tokens (of numbers in another Meta app than the environment's), Twilio
   * auth tokens per number. Numbers whose credentials cannot be read here add nothing.
   */
  async webhookSecrets(): Promise<WebhookSecrets> {
    const byId = await this.load();
    // Decrypted once per read of the table, not per request.
    if (this.rows?.byId === byId && this.rows.secrets) return this.rows.secrets;
    const out: WebhookSecrets = { metaAppSecrets: new Map(), metaVerifyTokens: [], twilioTokens: new Map() };
    for (const n of byId.values()) {
      if (n.id === DEFAULT_NUMBER_ID || !n.credentialsEncrypted) continue;
      let creds: NumberCredentials;
      try {
        creds = this.credentials(n);
      } catch (err) {
        this.options.log?.warn({ number: n.id, err: (err as Error).message }, 'number credentials not readable; its webhooks cannot be checked here');
        continue;
      }
      if (creds.provider === 'meta') {
        if (creds.appSecret) out.metaAppSecrets.set(n.id, creds.appSecret);
        if (creds.verifyToken) out.metaVerifyTokens.push(creds.verifyToken);
      } else if (creds.provider === 'twilio') out.twilioTokens.set(n.id, creds.authToken);
    }
    if (this.rows?.byId === byId) this.rows.secrets = out;
    return out;
  }

  /** Drops the cache: this process's own writes apply at once. */
  invalidate(): void {
    // Read again at the next use; the old rows stay as the fallback should Postgres not answer.
    if (this.rows) this.rows.at = 0;
  }

  private buildSender(number: BusinessNumber): WhatsAppSender {
    const creds = this.credentials(number);
    const providers = this.options.providers ?? { graphBaseUrl: 'https://graph.facebook.com/v21.0', twilioBaseUrl: 'https://api.twilio.com' };
    if (creds.provider === 'meta') {
      return new MetaGraphSender({ baseUrl: providers.graphBaseUrl, phoneNumberId: number.phoneNumberId, accessToken: creds.accessToken });
    }
    if (creds.provider === 'twilio') {
      return new TwilioSender({
        baseUrl: providers.twilioBaseUrl,
        accountSid: creds.accountSid,
        authToken: creds.authToken,
        from: number.phoneNumberId,
        publicBaseUrl: providers.publicBaseUrl,
      });
    }
    if (!this.options.log) throw new Error('a console number needs a logger');
    return new ConsoleSender(this.options.log);
  }

  /**
   * whatsapp_numbers, read at most every ttlMs. When Postgres does not answer, the last rows read
   * are served (and read again a second later), so webhooks keep routing through an outage; only
   * a process that never read them fails.
   */
  private async load(): Promise<Map<number, BusinessNumber>> {
    const ttl = this.options.ttlMs ?? 2000;
    if (this.rows && Date.now() - this.rows.at < ttl) return this.rows.byId;
    if (!this.options.db) return new Map();
    this.loading ??= this.options.db
      .selectFrom('whatsapp_numbers')
      .selectAll()
      .orderBy('id')
      .execute()
      .then((rows) => {
        const byId = new Map(rows.map((r) => [r.id, toBusinessNumber(r)]));
        this.rows = { at: Date.now(), byId };
        return byId;
      })
      .catch((err: unknown) => {
        if (!this.rows) throw err;
        this.options.log?.warn({ err: (err as Error).message }, 'could not read whatsapp_numbers; using the numbers read before');
        this.rows.at = Date.now() - ttl + Math.min(ttl, 1000);
        return this.rows.byId;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}

/** What the numbers added at run time bring to the webhooks' checks. */
export interface WebhookSecrets {
  /** Per number: the secret of its own Meta app (when not the environment's). */
  metaAppSecrets: Map<number, string>;
  metaVerifyTokens: string[];
  /** Per number: its Twilio account's auth token. */
  twilioTokens: Map<number, string>;
}

export class NumberUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NumberUnavailableError';
  }
}

export function toBusinessNumber(r: WhatsAppNumber): BusinessNumber {
  return {
    id: r.id,
    phoneNumberId: r.phone_number_id,
    displayNumber: r.display_number,
    name: r.name,
    provider: r.provider,
    enabled: r.enabled,
    isDefault: r.is_default,
    aiConfigurationId: r.ai_configuration_id,
    credentialsEncrypted: r.credentials_encrypted,
    updatedAt: r.updated_at.getTime(),
  };
}

/**
 * Brings row 1 up to date with the environment's number at start (API and worker), for the
 * admin lists and joins: its provider, number and display number. Routing never reads it.
 * Throws when another row claims the same number (the processes log it and go on: the
 * environment's number wins the routing, and that row is never reached until one of them goes).
 */
export async function syncDefaultNumber(db: Db, d: DefaultNumber): Promise<void> {
  const phoneNumberId = d.phoneNumberId ?? '';
  if (phoneNumberId) {
    const clash = await db
      .selectFrom('whatsapp_numbers')
      .select('id')
      .where('phone_number_id', '=', phoneNumberId)
      .where('id', '!=', DEFAULT_NUMBER_ID)
      .executeTakeFirst();
    if (clash) {
      throw new Error(
        `the environment's number ${phoneNumberId} is also number ${clash.id} in whatsapp_numbers: delete that one (DELETE /api/v1/numbers/${clash.id}) or configure another`,
      );
    }
  }
  await db
    .updateTable('whatsapp_numbers')
    .set({ provider: d.provider, phone_number_id: phoneNumberId, display_number: d.displayNumber ?? null, updated_at: new Date() })
    .where('id', '=', DEFAULT_NUMBER_ID)
    .where((eb) =>
      eb.or([eb('provider', '!=', d.provider), eb('phone_number_id', '!=', phoneNumberId), eb('display_number', 'is distinct from', d.displayNumber ?? null)]),
    )
    .execute();
}

const fallbackRegistries = new WeakMap<object, NumberRegistry>();

/**
 * The deployment's numbers from optional dependencies. Absent: the default number alone, which
 * every webhook is for and which sends through `whatsapp` (as before numbers existed).
 */
export function numbersOf(deps: { numbers?: NumberRegistry; whatsapp?: unknown; db?: Db }): NumberRegistry {
  if (deps.numbers) return deps.numbers;
  let registry = fallbackRegistries.get(deps);
  if (!registry) {
    const sender = deps.whatsapp && typeof (deps.whatsapp as WhatsAppSender).send === 'function' ? (deps.whatsapp as WhatsAppSender) : undefined;
    registry = new NumberRegistry({ defaultNumber: { provider: (sender?.provider as NumberProvider | undefined) ?? 'console' }, defaultSender: sender });
    fallbackRegistries.set(deps, registry);
  }
  return registry;
}
