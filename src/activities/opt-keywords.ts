import { findContactByWaId, setOptInByWaId } from '../db/contacts';
import type { ActivityDeps } from './index';

export interface ApplyOptKeywordInput {
  waId: string;
  /** The number it came to. Opting out is the contact's, whichever of the business's numbers hears it. */
  numberId?: number;
  optIn: boolean;
  /** When the user wrote it (epoch ms): the opt-in/out is dated by the user's message. */
  at: number;
  name?: string;
}

export interface ApplyOptKeywordResult {
  /** false: not an opt instruction after all (START from someone who never opted out). */
  handled: boolean;
  /** The contact's status changed; only then is a confirmation sent, so it is sent once. */
  changed: boolean;
}

export function createOptKeywordActivities({ db }: Pick<ActivityDeps, 'db'>) {
  return {
    /** Idempotent: a retry finds the status already set and reports changed=false. */
    async applyOptKeyword({ waId, optIn, at, name }: ApplyOptKeywordInput): Promise<ApplyOptKeywordResult> {
      if (optIn) {
        const contact = await findContactByWaId(db, waId);
        if (!contact || contact.opt_in_status || !contact.opted_out_at) return { handled: false, changed: false };
      }
      const { changed } = await setOptInByWaId(db, waId, optIn, {
        source: 'whatsapp',
        reason: optIn ? undefined : 'user sent an opt-out keyword on WhatsApp',
        at: new Date(at),
        name,
      });
      return { handled: true, changed };
    },
  };
}
