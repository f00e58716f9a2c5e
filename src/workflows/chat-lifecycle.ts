/**
 * The inbox's state of a chat (issue 12): open or closed, archived, who owns it, tags, priority.
 * Plain functions over ChatState with no Temporal in them; the chat's handlers call them and
 * mirror the result to Postgres before answering. Runs started before the inbox carry none of
 * these fields: they read as an open, unassigned, untagged conversation of normal priority.
 */
import type { ChatActor, ChatState, ConversationChange, ConversationLifecycle } from './definitions';

export const MAX_TAGS = 20;
export const TAG_PATTERN = /^[a-z0-9][a-z0-9 _-]{0,31}$/;

/** Why a change is refused: NOT_ASSIGNED (403) or INVALID_CONVERSATION_CHANGE (400). */
export interface Refusal {
  type: 'NotAssigned' | 'InvalidConversationChange';
  message: string;
}

export function lifecycleOf(state: ChatState): ConversationLifecycle {
  return {
    status: state.status ?? 'open',
    archived: state.archived ?? false,
    assignedTo: state.assignedTo ?? null,
    tags: state.tags ?? [],
    priority: state.priority ?? 'normal',
    ...(state.closedAt !== undefined ? { closedAt: new Date(state.closedAt).toISOString() } : {}),
    mode: state.mode,
    needsHuman: state.needsHuman,
    ...(state.operator !== undefined ? { operator: state.operator } : {}),
  };
}

const notAssigned = (message: string): Refusal => ({ type: 'NotAssigned', message });

/**
 * May this caller take the chat over, write in it or hand it back? A sales user only in
 * conversations assigned to them, or, for what claims it (a takeover, a message: see claimFor),
 * unassigned ones. A handback claims nothing, so it needs the conversation to be theirs.
 */
export function refuseToAct(state: ChatState, actor: ChatActor | undefined, what: string, claims = true): Refusal | undefined {
  if (!actor?.onlyAssigned) return undefined;
  if (actor.userId === undefined) return notAssigned(`Only a signed-in user can ${what} here: a sales API key holds no conversations`);
  if (state.assignedTo === undefined && !claims)
    return notAssigned(`This conversation is unassigned; sales may only ${what} in conversations assigned to them`);
  if (state.assignedTo !== undefined && state.assignedTo !== actor.userId) {
    return notAssigned(`This conversation is assigned to user ${state.assignedTo}; sales may only ${what} in conversations assigned to them`);
  }
  return undefined;
}

/**
 * May this caller make this change? A sales user may change conversations assigned to them, and
 * claim an unassigned one for themselves (in the same change as anything else); never assign
 * someone else. The change itself must make sense.
 */
export function refuseChange(state: ChatState, change: ConversationChange, actor: ChatActor): Refusal | undefined {
  if (change.tags) {
    if (change.tags.length > MAX_TAGS) return { type: 'InvalidConversationChange', message: `At most ${MAX_TAGS} tags` };
    const bad = change.tags.find((t) => !TAG_PATTERN.test(t));
    if (bad !== undefined)
      return { type: 'InvalidConversationChange', message: `Tag ${JSON.stringify(bad)} is not valid: 1-32 lower-case letters, digits, spaces, - or _` };
  }
  if (change.archived === true && change.status === 'open') {
    return { type: 'InvalidConversationChange', message: 'An archived conversation is closed: do not ask for status open with it' };
  }
  if (!actor.onlyAssigned) return undefined;
  const me = actor.userId;
  if (me === undefined) return notAssigned('Only a signed-in user can change conversations: a sales API key holds no conversations');
  const before = state.assignedTo;
  const after = change.assignedTo === undefined ? before : (change.assignedTo ?? undefined);
  if (after !== undefined && after !== me) return notAssigned('Sales may assign conversations to themselves only');
  if (before === me) return undefined;
  if (before === undefined && after === me) return undefined;
  return before === undefined
    ? notAssigned('This conversation is unassigned: assign it to yourself first (POST /conversations/:id/assign)')
    : notAssigned(`This conversation is assigned to user ${before}; sales may only change conversations assigned to them`);
}

/**
 * Applies a change; returns whether anything changed (and marks the Postgres copy behind).
 * Closing ends the human's turn: the bot holds the chat again and NeedsHuman is cleared; the
 * assignee stays. Archiving closes. Reopening unarchives.
 */
export function applyChange(state: ChatState, change: ConversationChange, now: number): boolean {
  const before = JSON.stringify(lifecycleOf(state));
  const status = change.archived === true ? 'closed' : change.status;
  if (status === 'closed' && state.status !== 'closed') {
    state.status = 'closed';
    state.closedAt = now;
    state.mode = 'bot';
    state.operator = undefined;
    state.needsHuman = false;
  } else if (status === 'open' && state.status === 'closed') {
    state.status = 'open';
  }
  if (change.archived !== undefined) state.archived = change.archived;
  if (status === 'open') state.archived = false;
  if (change.assignedTo !== undefined) state.assignedTo = change.assignedTo ?? undefined;
  if (change.tags) state.tags = [...new Set(change.tags)];
  if (change.priority) state.priority = change.priority;
  const changed = JSON.stringify(lifecycleOf(state)) !== before;
  if (changed) state.conversationDirty = true;
  return changed;
}

/** A customer writing to a closed (or archived) conversation reopens it. */
export function reopenOnInbound(state: ChatState): boolean {
  if (state.status !== 'closed') return false;
  state.status = 'open';
  state.archived = false;
  state.conversationDirty = true;
  return true;
}

/** A signed-in user who takes over or writes to an unassigned conversation becomes its assignee. */
export function claimFor(state: ChatState, actor: ChatActor | undefined): boolean {
  if (actor?.userId === undefined || state.assignedTo !== undefined) return false;
  state.assignedTo = actor.userId;
  state.conversationDirty = true;
  return true;
}
