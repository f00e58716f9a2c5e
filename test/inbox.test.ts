/**
 * The inbox (issue 12) against the real API, worker, Temporal dev server and Postgres: starting
 * conversations to new numbers, the lifecycle held by the chat workflow and mirrored before the
 * API answers, unread counts, seed 004's conversation routes, and who may do what.
 */
import { hashPassword } from '../src/auth/passwords';
import { createUser } from '../src/db/users';
import { createTemplate, uniqueWaIds } from './helpers/campaigns';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { saveHistory } from './helpers/histories';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
const stamp = Date.now();
const PASSWORD = 'inbox test password';
const users: Record<'ana' | 'sam' | 'sue' | 'vic', { id: number; token: string }> = {} as never;

beforeAll(async () => {
  h = await startHarness();
  const hash = await hashPassword(PASSWORD);
  for (const [who, role] of [
    ['ana', 'operator'],
    ['sam', 'sales'],
    ['sue', 'sales'],
    ['vic', 'viewer'],
  ] as const) {
    const email = `${who}.${stamp}@example.com`;
    const user = await createUser(h.db, { email, password_hash: hash, role, full_name: who });
    const login = await h.api('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD }, key: null });
    expect(login.status).toBe(200);
    users[who] = { id: user.id, token: login.body.access_token };
  }
});
afterAll(async () => {
  await h?.stop();
});

async function chatWith(text = 'hello'): Promise<{ waId: string; id: string }> {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const row = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  return { waId, id: row.id };
}

const listed = async (query: string, key: string = KEYS.admin) => {
  const res = await h.api('GET', `/api/v1/conversations?${query}`, { key });
  expect(res.status).toBe(200);
  return res.body as { total: number; conversations: any[] };
};
const attributes = async (waId: string) => (await h.client.workflow.getHandle(`chat-${waId}`).describe()).searchAttributes;

describe('starting a conversation', () => {
  test('to a new number: free text is refused with nothing started, a template starts it, once per Idempotency-Key', async () => {
    const [waId] = uniqueWaIds(1);
    const refused = await h.api('POST', '/api/v1/conversations', { body: { phone: `+${waId}`, message: 'Hi there!' }, key: KEYS.operator });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'outside_24h_window' } });
    expect(refused.body.error.message).toMatch(/template/);
    expect(await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId!).executeTakeFirst()).toBeUndefined();
    await expect(h.client.workflow.getHandle(`chat-${waId}`).describe()).rejects.toThrow();

    const template = await createTemplate(h, 'Hello {{name}}, your order {{order}} is ready.');
    const body = { phone: `+${waId}`, template: { id: template.id, variables: { name: 'Ada', order: 'A-17' } }, tags: ['Orders'], priority: 'high' };
    const headers = { 'idempotency-key': `start-${waId}` };
    const started = await h.api('POST', '/api/v1/conversations', { body, headers, key: KEYS.operator });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      created: true,
      message: { kind: 'template' },
      conversation: { wa_id: waId, status: 'open', tags: ['orders'], priority: 'high' },
    });
    const sends = h.graph.sentTo(waId!);
    expect(sends).toHaveLength(1);
    expect(sends[0]!.type).toBe('template');
    expect(started.body.message.message_id).toBe(sends[0]!.wamid);
    const record = await h.recorded(waId!);
    expect(record).toEqual([expect.objectContaining({ sender_type: 'operator', message_type: 'template', content: 'Hello Ada, your order A-17 is ready.' })]);

    // The same request again (a client retrying after a timeout): the same message, nothing sent.
    const again = await h.api('POST', '/api/v1/conversations', { body, headers, key: KEYS.operator });
    expect(again.status).toBe(200);
    expect(again.body.message.message_id).toBe(started.body.message.message_id);
    expect(h.graph.sentTo(waId!)).toHaveLength(1);
    // The same key for another message is a mistake, not a repeat.
    const reused = await h.api('POST', `/api/v1/conversations/${started.body.conversation.id}/messages`, {
      body: { template: { id: template.id, variables: { name: 'Bob', order: 'B-1' } } },
      headers: { 'idempotency-key': 'fresh-key' },
      key: KEYS.operator,
    });
    expect(reused.status).toBe(201);
    expect(h.graph.sentTo(waId!)).toHaveLength(2);
    const mismatch = await h.api('POST', `/api/v1/conversations/${started.body.conversation.id}/messages`, {
      body: { message: 'not the same' },
      headers: { 'idempotency-key': 'fresh-key' },
      key: KEYS.operator,
    });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.error.details).toEqual({ reason: 'idempotency_key_reused' });

    // Still outside the window (the customer never wrote): free text to the live chat is a 409 from the chat itself.
    const text = await h.api('POST', `/api/v1/conversations/${started.body.conversation.id}/messages`, { body: { message: 'free text' }, key: KEYS.operator });
    expect(text.status).toBe(409);
    expect(h.graph.sentTo(waId!)).toHaveLength(2);
    expect(await attributes(waId!)).toMatchObject({ ConversationStatus: ['open'] });
    await saveHistory(h.client, waId!, 'inbox-started-by-template');
  });

  test('inside the window: free text through POST /conversations and seed 000 POST /messages', async () => {
    const { waId, id } = await chatWith('can someone call me?');
    const res = await h.api('POST', '/api/v1/conversations', {
      body: { chat_id: `${waId}@c.us`, initial_message: 'Calling you in 5 minutes.' },
      key: KEYS.operator,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: false, conversation: { id }, message: { kind: 'text' } });
    const seed000 = await h.api('POST', '/api/v1/messages', {
      body: { chat_id: `${waId}@c.us`, content: 'Or now, if you like.', metadata: { correlation_id: 'req_1' } },
      key: KEYS.operator,
    });
    expect(seed000.status).toBe(201);
    expect(seed000.body).toMatchObject({ status: 'sent', conversation_id: id, correlation_id: 'req_1' });
    expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual([expect.any(String), 'Calling you in 5 minutes.', 'Or now, if you like.']);
    // seed 001's operator-message takes a template too.
    const template = await createTemplate(h, 'Your appointment is confirmed.');
    const viaSeed001 = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, template: { name: template.name } }, key: KEYS.operator });
    expect(viaSeed001.status).toBe(200);
    expect(h.graph.sentTo(waId)).toHaveLength(4);
  });

  test('bad input is a 400 and sends nothing', async () => {
    const [waId] = uniqueWaIds(1);
    const cases: [unknown, RegExp][] = [
      [{ message: 'no number' }, /phone/],
      [{ phone: '12', message: 'x' }, /phone/],
      [{ phone: `+${waId}`, template: { id: 999_999 } }, /does not exist/],
      [{ phone: `+${waId}`, template: { name: 'x' }, message: 'both' }, /template/],
      [{ phone: `+${waId}`, assigned_to: 999_999, message: 'x' }, /user 999999 does not exist/],
      [{ phone: `+${waId}`, tags: ['no/slashes'] }, /tag/],
      [{ phone: `+${waId}`, priority: 'asap' }, /priority/],
    ];
    for (const [body, message] of cases) {
      const res = await h.api('POST', '/api/v1/conversations', { body, key: KEYS.operator });
      expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status: 400, code: 'VALIDATION_ERROR' });
      expect(res.body.error.message).toMatch(message);
    }
    const draft = await createTemplate(h, 'Draft text', 'PENDING');
    const pending = await h.api('POST', '/api/v1/conversations', { body: { phone: `+${waId}`, template: { id: draft.id } }, key: KEYS.operator });
    expect(pending.status).toBe(409);
    expect(h.graph.sentTo(waId!)).toHaveLength(0);
    expect(await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId!).executeTakeFirst()).toBeUndefined();
  });
});

describe('lifecycle', () => {
  test('a closed conversation is reopened by the customer, and nothing they send is lost', async () => {
    const { waId, id } = await chatWith('first question');
    await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.operator });
    const closed = await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, key: KEYS.operator });
    expect(closed.status).toBe(200);
    // Closing ends the human's turn: the bot holds the chat again.
    expect(closed.body).toMatchObject({ status: 'closed', handling: 'bot', operator: null, closed_at: expect.any(String) });
    expect((await listed(`phone=${waId}&status=closed`)).total).toBe(1);
    expect(await attributes(waId)).toMatchObject({ ConversationStatus: ['closed'], ChatMode: ['bot'] });

    await h.inbound([
      { from: waId, text: 'one more thing' },
      { from: waId, text: 'and another' },
    ]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
    await h.settled(waId);
    const row = (await listed(`phone=${waId}`)).conversations[0];
    expect(row).toMatchObject({ status: 'open', archived: false });
    expect((await h.recorded(waId)).filter((m) => m.sender_type === 'user').map((m) => m.content)).toEqual(['first question', 'one more thing', 'and another']);
    expect(h.llm.wasAsked('one more thing')).toBe(true);
    await eventually(async () => expect(await attributes(waId)).toMatchObject({ ConversationStatus: ['open'] }));
    await saveHistory(h.client, waId, 'inbox-close-reopen');
  });

  test('assign, tags, priority and close show in the list as soon as the call returns', async () => {
    const { waId, id } = await chatWith();
    const steps: [string, string, unknown, Record<string, unknown>][] = [
      ['POST', `/${id}/assign`, { assigned_to: users.ana.id }, { assigned_to: users.ana.id, assignee: { id: users.ana.id, full_name: 'ana' } }],
      ['PUT', `/${id}`, { tags: ['vip', 'Billing'], priority: 'urgent' }, { tags: ['vip', 'billing'], priority: 'urgent' }],
      ['PATCH', `/${id}`, { metadata: { priority: 'low', tags: ['general'] } }, { tags: ['general'], priority: 'low' }],
      ['POST', `/${id}/close`, {}, { status: 'closed' }],
      ['POST', `/${id}/reopen`, {}, { status: 'open' }],
      ['DELETE', `/${id}`, undefined, { status: 'closed', archived: true }],
      ['POST', `/${id}/assign`, { assigned_to: null }, { assigned_to: null, assignee: null }],
    ];
    for (const [method, path, body, expected] of steps) {
      const res = await h.api(method, `/api/v1/conversations${path}`, { body, key: KEYS.operator });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.body).toMatchObject(expected);
      // Read at once: the list agrees with what the call answered.
      const archived = (expected as { archived?: boolean }).archived ?? res.body.archived;
      const row = (await listed(`phone=${waId}&archived=${archived}`)).conversations[0];
      expect(row).toMatchObject(expected);
    }
    // Archived conversations are left out of the list unless asked for.
    expect((await listed(`phone=${waId}`)).total).toBe(0);
    expect(await attributes(waId)).toMatchObject({ ConversationStatus: ['archived'] });
    // Unassigned: the attribute is removed (the dev server lists a removed attribute as [null]).
    expect((await attributes(waId)).AssignedTo ?? [null]).toEqual([null]);
    await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.sam.id }, key: KEYS.operator });
    expect(await attributes(waId)).toMatchObject({ AssignedTo: [users.sam.id] });
    const state = await h.chatState(waId);
    expect(state.lifecycle).toMatchObject({ status: 'closed', archived: true, assignedTo: users.sam.id, tags: ['general'], priority: 'low' });
    await saveHistory(h.client, waId, 'inbox-lifecycle');
  });

  test('40 reads right after takeover and handback all show the new handling', async () => {
    const { waId } = await chatWith();
    const stale: string[] = [];
    for (let i = 0; i < 20; i++) {
      for (const [path, handling] of [
        ['/api/v1/takeover', 'operator'],
        ['/api/v1/handback', 'bot'],
      ] as const) {
        expect((await h.api('POST', path, { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
        const row = (await listed(`phone=${waId}`)).conversations[0];
        if (row.handling !== handling) stale.push(`${i} ${path}: ${row.handling}`);
      }
    }
    expect(stale).toEqual([]);
  });

  test('a conversation whose workflow was terminated by hand starts again with the assignee and tags Postgres has', async () => {
    const { waId, id } = await chatWith();
    await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.ana.id }, key: KEYS.operator });
    await h.api('PUT', `/api/v1/conversations/${id}`, { body: { tags: ['kept'] }, key: KEYS.operator });
    await h.client.workflow.getHandle(`chat-${waId}`).terminate('an operator cleaned up by hand');
    const res = await h.api('PUT', `/api/v1/conversations/${id}`, { body: { priority: 'high' }, key: KEYS.operator });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ assigned_to: users.ana.id, tags: ['kept'], priority: 'high', status: 'open' });
    expect((await h.chatState(waId)).lifecycle).toMatchObject({ assignedTo: users.ana.id, tags: ['kept'], priority: 'high' });
  });

  test('an unknown, deactivated or read-only assignee is a 400 and changes nothing', async () => {
    const { id } = await chatWith();
    const hash = await hashPassword(PASSWORD);
    const gone = await createUser(h.db, { email: `gone.${stamp}@example.com`, password_hash: hash, role: 'operator', full_name: 'gone' });
    await h.db.updateTable('users').set({ is_active: false }).where('id', '=', gone.id).execute();
    for (const [assignee, message] of [
      [999_999, /does not exist/],
      [gone.id, /deactivated/],
      [users.vic.id, /viewer/],
      ['7', /number/],
    ] as const) {
      const res = await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: assignee }, key: KEYS.operator });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
    const missing = await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: {}, key: KEYS.operator });
    expect(missing.status).toBe(400);
    const nothing = await h.api('PUT', `/api/v1/conversations/${id}`, { body: {}, key: KEYS.operator });
    expect(nothing.status).toBe(400);
    const row = await h.db.selectFrom('conversations').select(['assigned_to']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.assigned_to).toBeNull();
  });
});

describe('unread and the seed 004 reads', () => {
  test('unread counts inbound messages until an operator reads them; /unread, /urgent, /assigned, message routes', async () => {
    const { waId, id } = await chatWith('message one');
    expect((await listed(`phone=${waId}`)).conversations[0].unread_count).toBe(1);
    await h.inbound([{ from: waId, text: 'message two' }]);
    await eventually(async () => expect((await listed(`phone=${waId}`)).conversations[0].unread_count).toBe(2));
    expect((await h.api('GET', `/api/v1/conversations/unread?phone=${waId}`)).body.total).toBe(1);

    const messages = (await h.api('GET', `/api/v1/conversations/${id}/messages`)).body.messages;
    const first = messages.find((m: { content: string }) => m.content === 'message one');
    const one = await h.api('GET', `/api/v1/conversations/messages/${first.id}`);
    expect(one).toMatchObject({ status: 200, body: { id: first.id, conversation_id: id, content: 'message one' } });
    expect((await h.api('GET', '/api/v1/conversations/messages/99999999999')).status).toBe(404);

    // Read up to the first message: the second is still unread.
    const upTo = await h.api('PUT', `/api/v1/conversations/messages/${first.id}/status`, { body: { status: 'read' }, key: KEYS.operator });
    expect(upTo).toMatchObject({ status: 200, body: { conversation_id: id, unread_count: 1 } });
    const delivered = await h.api('PUT', `/api/v1/conversations/messages/${first.id}/status`, { body: { status: 'delivered' }, key: KEYS.operator });
    expect(delivered.status).toBe(400);
    const bot = messages.find((m: { sender_type: string }) => m.sender_type === 'bot');
    expect((await h.api('PUT', `/api/v1/conversations/messages/${bot.id}/status`, { body: { status: 'read' }, key: KEYS.operator })).status).toBe(400);
    const read = await h.api('POST', `/api/v1/conversations/${id}/read`, { body: {}, key: KEYS.operator });
    expect(read.body.unread_count).toBe(0);
    // Reading up to an older message afterwards leaves it read.
    const older = await h.api('PUT', `/api/v1/conversations/messages/${first.id}/status`, { body: { status: 'read' }, key: KEYS.operator });
    expect(older.body.unread_count).toBe(0);
    expect((await h.api('GET', `/api/v1/conversations/unread?phone=${waId}`)).body.total).toBe(0);
    // A viewer reads, but does not mark read for the team.
    expect((await h.api('POST', `/api/v1/conversations/${id}/read`, { body: {}, key: KEYS.viewer })).status).toBe(403);

    expect((await h.api('GET', `/api/v1/conversations/urgent?phone=${waId}`)).body.total).toBe(0);
    await h.api('PUT', `/api/v1/conversations/${id}`, { body: { priority: 'urgent' }, key: KEYS.operator });
    expect((await h.api('GET', `/api/v1/conversations/urgent?phone=${waId}`)).body.total).toBe(1);

    await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.ana.id }, key: KEYS.operator });
    const mine = await h.api('GET', `/api/v1/conversations/assigned?phone=${waId}`, { key: users.ana.token });
    expect(mine.body.total).toBe(1);
    expect((await listed(`phone=${waId}&queue=mine`, users.sam.token)).total).toBe(0);
    expect((await listed(`phone=${waId}&queue=unassigned`)).total).toBe(0);
    expect((await listed(`phone=${waId}&assigned_to=${users.ana.id}`)).total).toBe(1);
    // An API key owns nothing: "mine" needs a user.
    expect((await h.api('GET', '/api/v1/conversations/assigned', { key: KEYS.operator })).status).toBe(400);
  });

  test('seed 004 replies and the overview', async () => {
    const { id } = await chatWith('what are your hours?');
    const before = (await h.api('GET', '/api/v1/conversations/stats/overview')).body;
    const reply = await h.api('POST', `/api/v1/conversations/${id}/replies`, { body: { message: 'We open at 9.' }, key: KEYS.operator });
    expect(reply).toMatchObject({ status: 201, body: { kind: 'text', conversation_id: id } });
    const replies = await h.api('GET', `/api/v1/conversations/${id}/replies`);
    expect(replies.status).toBe(200);
    expect(replies.body.messages.map((m: { sender_type: string; content: string }) => [m.sender_type, m.content])).toEqual([
      ['bot', expect.any(String)],
      ['operator', 'We open at 9.'],
    ]);
    await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, key: KEYS.operator });
    const after = (await h.api('GET', '/api/v1/conversations/stats/overview')).body;
    // Other tests run beside this one in the same database: this conversation moved from open to closed.
    expect(after.closed).toBeGreaterThanOrEqual(before.closed + 1);
    expect(Object.keys(after.open_by_priority)).toEqual(['low', 'normal', 'high', 'urgent']);
    expect(after.total).toBe(after.open + after.closed);
  });

  test('list filters: tag, search, seed aliases, and unknown parameters named in a 400', async () => {
    const { waId, id } = await chatWith();
    await h.api('PUT', `/api/v1/conversations/${id}`, { body: { tags: ['refund'] }, key: KEYS.operator });
    expect((await listed(`tag=refund&phone=${waId}`)).total).toBe(1);
    expect((await listed(`tag=other&phone=${waId}`)).total).toBe(0);
    expect((await listed(`search=${waId.slice(-6)}`)).conversations.map((c) => c.wa_id)).toContain(waId);
    expect((await listed(`chat_id=${waId}@c.us`)).total).toBe(1);
    expect((await listed(`user_id=${waId}`)).total).toBe(1);
    expect((await listed(`status=bot&phone=${waId}`)).total).toBe(1);
    const paged = await listed('limit=1&skip=1');
    expect(paged).toMatchObject({ limit: 1, offset: 1 });

    const unknown = await h.api('GET', '/api/v1/conversations?phone_number=1&sort=asc');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/"phone_number", "sort"/);
    expect(unknown.body.error.details.map((d: { field: string }) => d.field)).toEqual(['phone_number', 'sort']);
    const both = await h.api('GET', `/api/v1/conversations?phone=${waId}&chat_id=${waId}`);
    expect(both.status).toBe(400);
    expect((await h.api('GET', '/api/v1/conversations?unread=yes')).status).toBe(400);
  });
});

describe('who may do what', () => {
  test('sales write only to conversations assigned to them; viewers and marketers read', async () => {
    const { waId, id } = await chatWith();
    const asSam = { key: users.sam.token };
    // Unassigned: Sam may not close it before claiming it, may claim it for himself, never for someone else.
    expect((await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, ...asSam })).status).toBe(403);
    expect((await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.sue.id }, ...asSam })).status).toBe(403);
    const claimed = await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.sam.id }, ...asSam });
    expect(claimed).toMatchObject({ status: 200, body: { assigned_to: users.sam.id } });
    expect((await h.api('PUT', `/api/v1/conversations/${id}`, { body: { tags: ['mine'] }, ...asSam })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, ...asSam })).status).toBe(200);
    const sent = await h.api('POST', `/api/v1/conversations/${id}/messages`, { body: { message: 'Sam here.' }, ...asSam });
    expect(sent.status).toBe(201);
    expect((await h.recorded(waId)).find((m) => m.content === 'Sam here.')!.metadata).toMatchObject({ operator: `user:${users.sam.id}` });
    expect((await h.api('POST', `/api/v1/conversations/${id}/read`, { body: {}, ...asSam })).status).toBe(200);

    // Sue (sales too) may read it but not touch it.
    const asSue = { key: users.sue.token };
    expect((await h.api('GET', `/api/v1/conversations/${id}`, asSue)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', `/api/v1/conversations/${id}/close`, {}],
      ['POST', `/api/v1/conversations/${id}/messages`, { message: 'Sue here.' }],
      ['POST', '/api/v1/handback', { phone: waId }],
      ['POST', `/api/v1/conversations/${id}/read`, {}],
      ['POST', `/api/v1/conversations/${id}/assign`, { assigned_to: users.sue.id }],
    ] as const) {
      const res = await h.api(method, path, { body, ...asSue });
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 403, code: 'AUTHORIZATION_ERROR' });
    }
    expect(h.graph.sentTo(waId).map((s) => s.text)).not.toContain('Sue here.');
    // Sales start conversations for themselves only, refused before anything is sent.
    const [fresh] = uniqueWaIds(1);
    const template = await createTemplate(h, 'Hello from sales.');
    const forSue = await h.api('POST', '/api/v1/conversations', { body: { phone: fresh, template: { id: template.id }, assigned_to: users.sue.id }, ...asSam });
    expect(forSue.status).toBe(403);
    expect(h.graph.sentTo(fresh!)).toHaveLength(0);
    // A sales API key has no user, so it holds nothing; viewers and marketers only read.
    expect((await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, key: KEYS.sales })).status).toBe(403);
    for (const key of [KEYS.viewer, KEYS.marketer, users.vic.token]) {
      expect((await h.api('GET', `/api/v1/conversations/${id}`, { key })).status).toBe(200);
      expect((await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, key })).status).toBe(403);
      expect((await h.api('POST', '/api/v1/conversations', { body: { phone: waId, message: 'x' }, key })).status).toBe(403);
    }
    // An operator may do anything, and hand it to Sue.
    expect((await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: users.sue.id }, key: KEYS.operator })).status).toBe(200);
    expect((await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, ...asSue })).status).toBe(200);
    expect((await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, ...asSam })).status).toBe(403);
  });

  test('sales may not hand back a conversation that is not theirs, even an unassigned one', async () => {
    const { waId } = await chatWith();
    // An API key takes it over: nothing is claimed.
    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
    const handback = await h.api('POST', '/api/v1/handback', { body: { phone: waId }, key: users.sam.token });
    expect(handback.status).toBe(403);
    expect((await h.chatState(waId)).mode).toBe('operator');
    // Ids beyond a user id's range are a 400, not a database error.
    const { id } = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();
    expect((await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: 3_000_000_000 }, key: KEYS.operator })).status).toBe(400);
    expect((await h.api('GET', '/api/v1/conversations?assigned_to=99999999999')).status).toBe(400);
    expect((await h.api('GET', '/api/v1/conversations?status=bot&handling=operator')).status).toBe(400);
  });

  test('a user who takes over an unassigned conversation becomes its assignee', async () => {
    const { waId } = await chatWith();
    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: users.ana.token })).status).toBe(200);
    expect((await listed(`phone=${waId}`)).conversations[0]).toMatchObject({
      assigned_to: users.ana.id,
      handling: 'operator',
      operator: `user:${users.ana.id}`,
    });
    await saveHistory(h.client, waId, 'inbox-takeover-claims');
  });
});
