import { applyChange, claimFor, lifecycleOf, refuseChange, refuseToAct, reopenOnInbound } from '../../src/workflows/chat-lifecycle';
import { newChatState } from '../../src/workflows/chat-state';
import type { ChatActor, ChatState } from '../../src/workflows/definitions';

const operator: ChatActor = { operator: 'user:1', userId: 1 };
const sam: ChatActor = { operator: 'user:7', userId: 7, onlyAssigned: true };
const salesKey: ChatActor = { operator: 'key:sales', onlyAssigned: true };

const state = (over: Partial<ChatState> = {}): ChatState => ({ ...newChatState('15550001111'), ...over });

describe('lifecycleOf', () => {
  it('reads a chat from before the inbox as open, unassigned, untagged, normal', () => {
    expect(lifecycleOf(state())).toEqual({ status: 'open', archived: false, assignedTo: null, tags: [], priority: 'normal', mode: 'bot', needsHuman: false });
  });
});

describe('applyChange', () => {
  it('closing hands the chat back to the bot and clears NeedsHuman, keeping the assignee', () => {
    const s = state({ mode: 'operator', operator: 'user:1', needsHuman: true, assignedTo: 1 });
    expect(applyChange(s, { status: 'closed' }, 1000)).toBe(true);
    expect(s).toMatchObject({ status: 'closed', closedAt: 1000, mode: 'bot', needsHuman: false, assignedTo: 1, conversationDirty: true });
    expect(s.operator).toBeUndefined();
  });

  it('archiving closes; reopening unarchives', () => {
    const s = state();
    applyChange(s, { archived: true }, 5);
    expect(lifecycleOf(s)).toMatchObject({ status: 'closed', archived: true });
    applyChange(s, { status: 'open' }, 6);
    expect(lifecycleOf(s)).toMatchObject({ status: 'open', archived: false });
  });

  it('reports no change (and leaves Postgres alone) when nothing differs', () => {
    const s = state({ tags: ['a'], priority: 'high' });
    expect(applyChange(s, { tags: ['a'], priority: 'high', status: 'open' }, 1)).toBe(false);
    expect(s.conversationDirty).toBe(false);
  });

  it('dedupes tags and unassigns with null', () => {
    const s = state({ assignedTo: 3 });
    applyChange(s, { tags: ['x', 'x', 'y'], assignedTo: null }, 1);
    expect(lifecycleOf(s)).toMatchObject({ tags: ['x', 'y'], assignedTo: null });
  });
});

describe('who may change what', () => {
  it('operators may do anything', () => {
    expect(refuseChange(state({ assignedTo: 9 }), { assignedTo: 2, status: 'closed' }, operator)).toBeUndefined();
    expect(refuseToAct(state({ assignedTo: 9 }), operator, 'write')).toBeUndefined();
  });

  it('sales may change their own, claim an unassigned one, and never assign someone else', () => {
    expect(refuseChange(state({ assignedTo: 7 }), { status: 'closed' }, sam)).toBeUndefined();
    expect(refuseChange(state({ assignedTo: 7 }), { assignedTo: null }, sam)).toBeUndefined();
    expect(refuseChange(state(), { assignedTo: 7, tags: ['mine'] }, sam)).toBeUndefined();
    expect(refuseChange(state(), { status: 'closed' }, sam)?.type).toBe('NotAssigned');
    expect(refuseChange(state(), { assignedTo: 8 }, sam)?.type).toBe('NotAssigned');
    expect(refuseChange(state({ assignedTo: 8 }), { assignedTo: 7 }, sam)?.type).toBe('NotAssigned');
    expect(refuseChange(state({ assignedTo: 7 }), {}, salesKey)?.type).toBe('NotAssigned');
  });

  it('sales may write in their own or unassigned conversations only', () => {
    expect(refuseToAct(state({ assignedTo: 7 }), sam, 'write')).toBeUndefined();
    expect(refuseToAct(state(), sam, 'write')).toBeUndefined();
    expect(refuseToAct(state({ assignedTo: 8 }), sam, 'write')?.message).toMatch(/assigned to user 8/);
    expect(refuseToAct(state(), salesKey, 'write')?.type).toBe('NotAssigned');
    // A handback claims nothing: an unassigned conversation is not theirs to hand back.
    expect(refuseToAct(state(), sam, 'hand back', false)?.type).toBe('NotAssigned');
    expect(refuseToAct(state({ assignedTo: 7 }), sam, 'hand back', false)).toBeUndefined();
  });

  it('refuses bad tags and an archive that asks to stay open', () => {
    expect(refuseChange(state(), { tags: ['Bad Tag!'] }, operator)?.type).toBe('InvalidConversationChange');
    expect(refuseChange(state(), { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, operator)?.type).toBe('InvalidConversationChange');
    expect(refuseChange(state(), { archived: true, status: 'open' }, operator)?.type).toBe('InvalidConversationChange');
  });
});

describe('the customer and the first responder', () => {
  it('an inbound message reopens a closed or archived conversation', () => {
    const s = state({ status: 'closed', archived: true });
    expect(reopenOnInbound(s)).toBe(true);
    expect(lifecycleOf(s)).toMatchObject({ status: 'open', archived: false });
    expect(reopenOnInbound(s)).toBe(false);
  });

  it('a signed-in user claims an unassigned conversation; an API key never does', () => {
    const s = state();
    expect(claimFor(s, { operator: 'key:ops' })).toBe(false);
    expect(claimFor(s, operator)).toBe(true);
    expect(s.assignedTo).toBe(1);
    expect(claimFor(s, sam)).toBe(false);
    expect(s.assignedTo).toBe(1);
  });
});
