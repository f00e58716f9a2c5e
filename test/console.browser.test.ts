/**
 * The operator console in a real browser: Debian's chromium, driven by playwright-core (which
 * downloads no browser), against the real API, worker, Temporal and Postgres of the harness.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { launchChromium } from './helpers/chromium';
import { createCampaign, createTemplate, importContacts, uniqueTag, uniqueWaIds } from './helpers/campaigns';
import { burstOf } from './helpers/fake-openai';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

// Set CONSOLE_SCREENSHOT=docs/console.png to refresh the README's screenshot.
const SCREENSHOT = process.env.CONSOLE_SCREENSHOT ?? '.data/console.png';
const PASSWORD = 'console-test-password';
const SESSION_KEY = 'whatsapp-console.session';

let h: Harness;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
// One database per test run (global setup), so the address is free.
const email = 'ana.operator@example.com';
let anaId: number;

beforeAll(async () => {
  // Before the harness: without a browser there is nothing to test.
  browser = await launchChromium();
  h = await startHarness();
  // The bot hands a chat to a human when asked to, like the real assistant's handoff tool.
  h.llm.responder = (req) => {
    const burst = burstOf(req).join(' | ');
    return /human/i.test(burst)
      ? { handoff: { reason: 'asked for a person', message: 'A colleague will take over shortly.' } }
      : { content: `Reply to: ${burst}` };
  };
  const created = await h.api('POST', '/api/v1/users', { body: { email, password: PASSWORD, full_name: 'Ana Operator', role: 'admin' } });
  expect(created.status).toBe(201);
  anaId = created.body.id;

  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

/** Opens the console at `hash`, signing in first (as `as`, Ana by default) when the tab has no session yet. */
async function openConsole(hash = '#/inbox', { on = page, as = email } = {}) {
  await on.goto(`${h.apiUrl}/console/${hash}`);
  await on.locator('input[name=password], .topbar').first().waitFor();
  if (await on.locator('input[name=password]').isVisible()) {
    await on.fill('input[name=email]', as);
    await on.fill('input[name=password]', PASSWORD);
    await on.click('button[type=submit]');
  }
  await on.locator('.topbar').waitFor();
  expect(await on.locator('.topbar .who').textContent()).toContain(as);
}

const row = (waId: string) => page.locator(`.conversation-row[data-phone="${waId}"]`);
const message = (sender: string, text: string) => page.locator(`.message[data-sender="${sender}"]`, { hasText: text });

/**
 * What an operator does all day: a customer asks for a human (NeedsHuman, found by the filter),
 * another writes (the inbox shows it, the open conversation gets the next message live), the
 * operator takes over, writes (it reaches Graph) and hands back.
 */
async function operatorRound(screenshot?: string) {
  // A customer who asks for a person: NeedsHuman in the inbox, and the filter finds them.
  const rahul = randomPhone();
  await h.inbound([{ from: rahul, text: 'Can I talk to a human, please?', name: 'Rahul Mehta' }]);
  await page.locator(`.conversation-row[data-phone="${rahul}"][data-needs-human="true"]`).waitFor();
  expect(await row(rahul).textContent()).toContain('Needs human');

  // A new inbound message appears in the inbox without a reload.
  const maria = randomPhone();
  await h.inbound([{ from: maria, text: 'Hi! Where is my order #1042?', name: 'Maria Lopez' }]);
  await row(maria).filter({ hasText: 'Where is my order #1042?' }).waitFor();
  expect(await row(maria).textContent()).toContain('Maria Lopez');

  await page.selectOption('select[name=handling]', 'needs_human');
  await eventually(async () => expect(await row(maria).count()).toBe(0));
  expect(await row(rahul).count()).toBe(1);
  await page.selectOption('select[name=handling]', '');

  // The conversation view, live: the message, the bot's answer, then a message sent while it is open.
  await row(maria).click();
  await message('user', 'Where is my order #1042?').waitFor();
  await message('bot', 'Reply to: Hi! Where is my order #1042?').waitFor();
  await h.inbound([{ from: maria, text: 'I moved to 5 Rue Lepic last week.', name: 'Maria Lopez' }]);
  await message('user', 'I moved to 5 Rue Lepic last week.').waitFor();
  await h.settled(maria);
  expect(await page.locator('.chat a', { hasText: 'Workflow' }).getAttribute('href')).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/chat-${maria}`);
  expect(await page.locator('textarea[name=message]').isDisabled()).toBe(true);

  await page.click('button:text-is("Take over")');
  await page.locator('.chat[data-mode="operator"]').waitFor();
  expect((await h.chatState(maria)).mode).toBe('operator');
  // Recorded as the signed-in user's id (never a name the page sends), shown to them as "you".
  expect((await h.chatState(maria)).operator).toMatch(/^user:\d+$/);
  await page.locator('[data-operator^="user:"]', { hasText: 'held by you' }).waitFor();

  const reply = 'Hi Maria, Ana here. I have changed the delivery address to 5 Rue Lepic.';
  await page.fill('textarea[name=message]', reply);
  await page.click('.composer button[type=submit]');
  await message('operator', reply).waitFor();
  await eventually(() => expect(h.graph.sentTo(maria).map((s) => s.text)).toContain(reply));
  // The box clears once the API confirms the send, which may come just after the stream shows it.
  await eventually(async () => expect(await page.locator('textarea[name=message]').inputValue()).toBe(''));
  await row(maria).filter({ hasText: 'Operator: Hi Maria, Ana here.' }).locator('[data-mode="operator"]').waitFor();

  if (screenshot) {
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
  }

  await page.click('button:text-is("Hand back to bot")');
  await page.locator('.chat[data-mode="bot"]').waitFor();
  expect((await h.chatState(maria)).mode).toBe('bot');
  await row(maria).locator('[data-mode="bot"]').waitFor();
}

test('an operator signs in and, live through the event stream, sees messages arrive, takes over, writes and hands back', async () => {
  const streamAnswers: number[] = [];
  page.on('response', (res) => {
    if (res.url().includes('/api/v1/conversations/stream')) streamAnswers.push(res.status());
  });
  // A fresh browser: the console asks for a login, and a wrong password is refused in words.
  await page.goto(`${h.apiUrl}/console`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  expect(await page.locator('.error-note').textContent()).toContain('Email or password is wrong');
  await openConsole();
  await page.locator('.inbox').waitFor();

  await operatorRound(SCREENSHOT);
  // The inbox and the conversation both followed GET /api/v1/conversations/stream.
  expect(streamAnswers.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
}, 120_000);

test('without the event stream (an API that answers it 404) the console polls, and the same round works', async () => {
  const pattern = '**/api/v1/conversations/stream*';
  const asked: string[] = [];
  await page.route(pattern, (route) => {
    asked.push(route.request().url());
    return route.fulfill({ status: 404, json: { error: { code: 'NOT_FOUND', message: 'Route not found' } } });
  });
  try {
    await openConsole('#/inbox');
    await operatorRound();
    // Each view asked once, found no stream, and polled from then on.
    expect(asked.length).toBeLessThanOrEqual(4);
  } finally {
    await page.unroute(pattern);
  }
}, 120_000);

test('outside the 24 h window the console says so, and shows why a message cannot go', async () => {
  const waId = randomPhone();
  const twoDaysAgo = Math.floor(Date.now() / 1000) - 48 * 3600;
  // An old message (Meta redelivers for up to 7 days): the chat exists but its window is closed.
  await h.inbound([{ from: waId, text: 'Are you open on Sundays?', name: 'Jon Berg', timestamp: twoDaysAgo }]);
  await eventually(async () => expect((await h.chatState(waId)).lastInboundAt).toBeDefined());
  await h.settled(waId);
  // Two days old, it sorts below the first page of the inbox in a full test run: open it by id.
  const { id } = (await h.api('GET', `/api/v1/conversations?phone=${waId}`)).body.conversations[0];
  await openConsole(`#/inbox/${id}`);
  await page.locator('.chat', { hasText: '24 h window closed' }).waitFor();

  await page.click('button:text-is("Take over")');
  await page.locator('.chat[data-mode="operator"]').waitFor();
  await page.fill('textarea[name=message]', 'Yes, from 10 to 4.');
  await page.click('.composer button[type=submit]');
  expect(await page.locator('.chat .error-note').textContent()).toMatch(/24-hour[\s\S]*409 CONFLICT/);
  // The text stays for the operator to deal with, and nothing went out.
  expect(await page.locator('textarea[name=message]').inputValue()).toBe('Yes, from 10 to 4.');
  expect(h.graph.sentTo(waId).filter((s) => s.text === 'Yes, from 10 to 4.')).toHaveLength(0);
  await page.click('button:text-is("Hand back to bot")');
  await page.locator('.chat[data-mode="bot"]').waitFor();
}, 60_000);

test("the conversation view follows the API's event stream when it has one, resuming from the last event id", async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'Hello there', name: 'Sol Reyes' }]);
  const conversation = await eventually(async () => {
    const list = await h.api('GET', `/api/v1/conversations?phone=${waId}`);
    expect(list.body.conversations).toHaveLength(1);
    return list.body.conversations[0] as { id: string };
  });
  // The stream as GET /api/v1/conversations/stream speaks it, whether or not this API has it yet.
  const streamed = {
    id: '900000000001',
    conversation_id: conversation.id,
    direction: 'inbound',
    sender_type: 'user',
    wamid: 'wamid.streamed',
    message_type: 'text',
    content: 'This one came through the stream',
    media: null,
    metadata: null,
    delivery_status: 'received',
    status_updated_at: null,
    error: null,
    timestamp: new Date().toISOString(),
  };
  const lastEventIds: (string | undefined)[] = [];
  const pattern = '**/api/v1/conversations/stream?conversation_id=*';
  await page.route(pattern, (route) => {
    lastEventIds.push(route.request().headers()['last-event-id']);
    const body = `: connected\n\nevent: message\nid: ${streamed.id}\ndata: ${JSON.stringify(streamed)}\n\n`;
    return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body });
  });
  try {
    await openConsole(`#/inbox/${conversation.id}`);
    await message('user', 'This one came through the stream').waitFor();
    await message('user', 'Hello there').waitFor();
    // The stream ended (this one is short): the console reconnects, asking for what came after.
    await eventually(() => expect(lastEventIds.length).toBeGreaterThanOrEqual(2), 10_000);
    expect(lastEventIds[0]).toBeUndefined();
    expect(lastEventIds[1]).toBe(streamed.id);
  } finally {
    await page.unroute(pattern);
  }
}, 60_000);

test("a campaign's progress bar moves to the total, through a pause and a resume", async () => {
  const template = await createTemplate(h);
  const tag = uniqueTag('console');
  const waIds = uniqueWaIds(12);
  await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Sam', tags: [tag] })),
  );
  const { id } = await createCampaign(h, { name: 'Spring sale', template_id: template.id, audience: { tags: [tag] }, rate_per_second: 1 });

  expect((await h.api('POST', `/api/v1/campaigns/${id}/start`)).status).toBe(202);
  await openConsole('#/campaigns');
  const card = page.locator(`.campaign[data-campaign-id="${id}"]`);
  await card.waitFor();
  const bar = card.locator('.progress');
  const figure = async (name: string) => Number(await bar.getAttribute(`data-${name}`));

  // The bar moves off zero as the run sends (1 per second)...
  await eventually(async () => expect(await figure('sent')).toBeGreaterThanOrEqual(2), 30_000);
  expect(await figure('total')).toBe(12);

  // ...holds while paused...
  await card.locator('button:text-is("Pause")').click();
  await page.locator(`.campaign[data-campaign-id="${id}"][data-status="paused"]`).waitFor();
  const held = await figure('sent');
  expect(held).toBeGreaterThanOrEqual(2);
  expect(held).toBeLessThan(12);
  // Receipts for what went out so far show up in the bar while it waits.
  const sends = h.graph.sends.filter((s) => waIds.includes(s.to));
  const ts = String(Math.floor(Date.now() / 1000));
  const receipt = (s: (typeof sends)[number], status: string) => ({ id: s.wamid, status, timestamp: ts, recipient_id: s.to });
  expect((await h.inbound([], [...sends.map((s) => receipt(s, 'delivered')), ...sends.slice(0, 2).map((s) => receipt(s, 'read'))])).status).toBe(200);
  await eventually(async () => {
    expect(await figure('delivered')).toBe(sends.length);
    expect(await figure('read')).toBe(2);
  });

  await card.locator('button:text-is("Resume")').click();
  await page.locator(`.campaign[data-campaign-id="${id}"][data-status="completed"]`).waitFor({ timeout: 30_000 });
  // ...and reaches the total after the resume.
  await eventually(async () => expect(await figure('sent')).toBe(12));
  expect(await figure('failed')).toBe(0);
  expect(await card.locator('.legend').textContent()).toContain('12 of 12 sent');
}, 120_000);

test('the leads board moves a card to another stage; an expired token is refreshed; signing out ends the login', async () => {
  const [waId] = uniqueWaIds(1);
  const contacts = await importContacts(h, [{ waId: waId!, firstName: 'Lena', tags: [uniqueTag('lead')] }]);
  const created = await h.api('POST', '/api/v1/leads', {
    body: { contact_id: contacts.get(waId!), title: 'Fleet of 40 bikes', estimated_value: 25000, priority: 'high' },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as number;

  // An access token that no longer works (expired, say): the console refreshes the session once and goes on.
  // (The functions run in the page, where sessionStorage is; this file is type-checked for Node.)
  const stored = () => page.evaluate((key) => JSON.parse((globalThis as any).sessionStorage.getItem(key) ?? 'null'), SESSION_KEY);
  await openConsole('#/leads');
  const before = await stored();
  await page.evaluate(({ key, session }) => (globalThis as any).sessionStorage.setItem(key, JSON.stringify({ ...session, accessToken: 'aaa.bbb.ccc' })), {
    key: SESSION_KEY,
    session: before,
  });
  await page.reload();
  const card = page.locator(`.column[data-status="new"] .lead[data-lead-id="${id}"]`);
  await card.waitFor();
  const after = await stored();
  expect(after.accessToken).not.toBe('aaa.bbb.ccc');
  expect(after.refreshToken).not.toBe(before.refreshToken);
  expect(await card.textContent()).toMatch(/Fleet of 40 bikes[\s\S]*Lena[\s\S]*high[\s\S]*25,000/);

  await card.locator('select').selectOption('qualified');
  await page.locator(`.column[data-status="qualified"] .lead[data-lead-id="${id}"]`).waitFor();
  expect((await h.api('GET', `/api/v1/leads/${id}`)).body.status).toBe('qualified');

  // Signing out ends the login at the API too.
  await page.click('button:text-is("Sign out")');
  await page.locator('input[name=password]').waitFor();
  expect(await stored()).toBeNull();
  await eventually(async () =>
    expect((await h.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: after.refreshToken }, key: null })).status).toBe(401),
  );
}, 60_000);

// The inbox (issue 12, docs/inbox-api.md): starting conversations, assignment, lifecycle, tags,
// unread counts, queues and roles.

/** A user of `role` (created once per run) and a page of their own, signed in to the console at `hash`. */
const rolePages: Page[] = [];
async function signedInAs(role: 'viewer' | 'sales' | 'operator', hash = '#/inbox') {
  const roleEmail = `${role}.${Date.now().toString(36)}@example.com`;
  const created = await h.api('POST', '/api/v1/users', { body: { email: roleEmail, password: PASSWORD, full_name: `Sam ${role}`, role } });
  expect(created.status).toBe(201);
  const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  other.setDefaultTimeout(20_000);
  other.on('pageerror', (err) => pageErrors.push(err.message));
  rolePages.push(other);
  await openConsole(hash, { on: other, as: roleEmail });
  return { page: other, id: created.body.id as number, email: roleEmail };
}

afterAll(async () => {
  await Promise.all(rolePages.map((p) => p.close()));
});

/** A conversation started by a customer's message, as the API lists it. */
async function inboundConversation(text: string, name = 'Kim Doe') {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text, name }]);
  const conversation = await eventually(async () => {
    const list = await h.api('GET', `/api/v1/conversations?phone=${waId}`);
    expect(list.body.conversations).toHaveLength(1);
    return list.body.conversations[0] as { id: string };
  });
  await h.settled(waId);
  return { waId, id: conversation.id };
}

const detail = async (id: string) => (await h.api('GET', `/api/v1/conversations/${id}`)).body;

test('a new conversation: free text to a new number is refused (409, outside the window) and a template goes, once, with one key per submission', async () => {
  const template = await createTemplate(h, 'Hi {{first_name}}, your order {{order}} has shipped.');
  // A number the API would send to (randomPhone's 12-digit +1 numbers come in, but are too long to write to).
  const [waId] = uniqueWaIds(1) as [string];
  const keys: string[] = [];
  const starts = (req: Request) => {
    if (req.method() === 'POST' && req.url().endsWith('/api/v1/conversations')) keys.push(req.headers()['idempotency-key'] ?? '');
  };
  page.on('request', starts);
  await openConsole('#/inbox');
  await page.click('a:text-is("New conversation")');
  await page.fill('.new-conversation input[name=phone]', `+${waId}`);
  await page.fill('.new-conversation textarea[name=text]', 'Hello, are you still interested?');
  await page.click('.new-conversation button[type=submit]');

  // Refused: the number never wrote, so the window is closed; the form says so and offers a template.
  const refusal = page.locator('.window-closed[data-reason="outside_24h_window"]');
  await refusal.waitFor();
  expect(await refusal.textContent()).toContain('24-hour window is closed');
  expect(h.graph.sentTo(waId)).toHaveLength(0);

  await refusal.locator('button:text-is("Send a template instead")').click();
  await page.selectOption('.new-conversation select[name=template]', String(template.id));
  await page.fill('.new-conversation input[data-variable="first_name"]', 'Kim');
  await page.fill('.new-conversation input[data-variable="order"]', '#2077');
  expect(await page.locator('.template-preview').textContent()).toBe('Hi Kim, your order #2077 has shipped.');

  // The first answer is lost on its way back (the API did start the conversation): the console
  // tries again with the same key, and the API answers the first result rather than sending twice.
  const pattern = '**/api/v1/conversations';
  let lost = 0;
  await page.route(pattern, async (route) => {
    if (route.request().method() !== 'POST' || lost > 0) return route.fallback();
    lost += 1;
    await route.fetch();
    await route.abort('connectionreset');
  });
  try {
    await page.click('.new-conversation button[type=submit]');
    // It opens the new conversation.
    await page.waitForURL(/#\/inbox\/[0-9a-f-]{36}$/);
  } finally {
    await page.unroute(pattern);
    page.off('request', starts);
  }
  const id = page.url().split('/').pop()!;
  await page.locator(`.chat[data-conversation-id="${id}"]`).waitFor();
  await page.locator('.message.outbound', { hasText: 'your order #2077' }).waitFor();
  await row(waId).waitFor();

  expect(lost).toBe(1);
  expect(keys).toHaveLength(3);
  expect(keys.every((k) => /^[0-9a-f]{32}$/.test(k))).toBe(true);
  // The refused text and the template were two submissions; the retry reused the template's key.
  expect(keys[1]).not.toBe(keys[0]);
  expect(keys[2]).toBe(keys[1]);
  await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.type)).toEqual(['template']));
  expect((await detail(id)).phone).toBe(waId);
}, 60_000);

test('assign to me, a user from the list, close and reopen, priority and tags: the conversation and its inbox row follow', async () => {
  const { waId, id } = await inboundConversation('Do you ship to Norway?', 'Ola Nordmann');
  const colleague = await h.api('POST', '/api/v1/users', {
    body: { email: `bo.${Date.now().toString(36)}@example.com`, password: PASSWORD, full_name: 'Bo Sales', role: 'sales' },
  });
  expect(colleague.status).toBe(201);
  await openConsole(`#/inbox/${id}`);
  const chat = page.locator(`.chat[data-conversation-id="${id}"]`);
  await chat.waitFor();
  expect(await chat.locator('.assignee').textContent()).toBe('nobody');
  expect(await row(waId).locator('.row-assignee').textContent()).toBe('unassigned');

  await chat.locator('button:text-is("Assign to me")').click();
  await page.locator(`.chat[data-assigned-to="${anaId}"]`).waitFor();
  expect(await chat.locator('.assignee').textContent()).toBe('you');
  expect((await detail(id)).assigned_to).toBe(anaId);
  await row(waId).locator('.row-assignee', { hasText: '→ you' }).waitFor();

  // An admin picks anyone who may hold conversations from the list of users.
  await chat.locator('select[name=assignee]').selectOption(String(colleague.body.id));
  await page.locator(`.chat[data-assigned-to="${colleague.body.id}"]`).waitFor();
  expect(await chat.locator('.assignee').textContent()).toBe('Bo Sales');
  expect((await detail(id)).assignee).toMatchObject({ id: colleague.body.id, full_name: 'Bo Sales' });
  await row(waId).locator('.row-assignee', { hasText: '→ Bo Sales' }).waitFor();
  await chat.locator('button:text-is("Unassign")').click();
  await page.locator(`.chat[data-assigned-to=""]`).waitFor();
  expect((await detail(id)).assigned_to).toBeNull();

  // Close: gone from the open inbox, listed among the closed; reopen brings it back.
  await chat.locator('button:text-is("Close")').click();
  await page.locator(`.chat[data-conversation-id="${id}"][data-status="closed"]`).waitFor();
  expect((await detail(id)).status).toBe('closed');
  await eventually(async () => expect(await row(waId).count()).toBe(0));
  await page.selectOption('select[name=status]', 'closed');
  await row(waId).locator('.badge', { hasText: 'Closed' }).waitFor();
  await chat.locator('button:text-is("Reopen")').click();
  await page.locator(`.chat[data-conversation-id="${id}"][data-status="open"]`).waitFor();
  expect((await detail(id)).status).toBe('open');
  await eventually(async () => expect(await row(waId).count()).toBe(0));
  await page.selectOption('select[name=status]', 'open');
  await row(waId).waitFor();

  await chat.locator('select[name=priority]').selectOption('urgent');
  await page.locator(`.conversation-row[data-phone="${waId}"][data-priority="urgent"]`).waitFor();
  expect((await detail(id)).priority).toBe('urgent');

  await chat.locator('input[name=tag]').fill('VIP customer');
  await chat.locator('.tag-add button[type=submit]').click();
  await chat.locator('.tag[data-tag="vip customer"]').waitFor();
  await chat.locator('input[name=tag]').fill('norway');
  await chat.locator('input[name=tag]').press('Enter');
  await chat.locator('.tag[data-tag="norway"]').waitFor();
  expect((await detail(id)).tags).toEqual(['vip customer', 'norway']);
  await row(waId).locator('.tag[data-tag="norway"]').waitFor();
  await chat.locator('button[aria-label="Remove tag vip customer"]').click();
  await eventually(async () => expect(await chat.locator('.tag').count()).toBe(1));
  expect((await detail(id)).tags).toEqual(['norway']);
  await eventually(async () => expect(await row(waId).locator('.tag').count()).toBe(1));
}, 60_000);

test('an inbound message shows an unread badge in the inbox; opening the conversation marks it read', async () => {
  await openConsole('#/inbox');
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'Is anyone there?', name: 'Una Read' }]);
  await page.locator(`.conversation-row[data-phone="${waId}"][data-unread="1"] .unread-count`).waitFor();
  await h.inbound([{ from: waId, text: 'Hello?', name: 'Una Read' }]);
  await page.locator(`.conversation-row[data-phone="${waId}"][data-unread="2"]`).waitFor();
  expect(await row(waId).locator('.unread-count').textContent()).toBe('2');

  await row(waId).click();
  await page.locator(`.chat[data-unread="0"]`).waitFor();
  await page.locator(`.conversation-row[data-phone="${waId}"][data-unread="0"]`).waitFor();
  expect(await row(waId).locator('.unread-count').count()).toBe(0);
  const id = await page.locator('.chat').getAttribute('data-conversation-id');
  expect((await detail(id!)).unread_count).toBe(0);
  await h.settled(waId);
}, 60_000);

test('the queues: mine lists what is assigned to me, unassigned what nobody holds, live as it changes', async () => {
  const a = await inboundConversation('Queue test: mine', 'Mia Mine');
  const b = await inboundConversation('Queue test: nobody', 'Nora Nobody');
  expect((await h.api('POST', `/api/v1/conversations/${a.id}/assign`, { body: { assigned_to: anaId } })).status).toBe(200);
  await openConsole('#/inbox');

  await page.click('.segmented[aria-label=Queue] button:text-is("Mine")');
  await row(a.waId).waitFor();
  await eventually(async () => expect(await row(b.waId).count()).toBe(0));
  expect(await page.locator('.conversation-row').evaluateAll((rows, me) => rows.every((r) => r.getAttribute('data-assigned-to') === me), String(anaId))).toBe(
    true,
  );

  await page.click('.segmented[aria-label=Queue] button:text-is("Unassigned")');
  await row(b.waId).waitFor();
  await eventually(async () => expect(await row(a.waId).count()).toBe(0));
  expect(await page.locator('.conversation-row').evaluateAll((rows) => rows.every((r) => r.getAttribute('data-assigned-to') === ''))).toBe(true);

  // Taking one leaves the unassigned queue at once.
  await row(b.waId).click();
  await page.locator(`.chat[data-conversation-id="${b.id}"] button:text-is("Assign to me")`).click();
  await eventually(async () => expect(await row(b.waId).count()).toBe(0));

  await page.click('.segmented[aria-label=Queue] button:text-is("Mine")');
  await row(a.waId).waitFor();
  await row(b.waId).waitFor();
  await page.click('.segmented[aria-label=Queue] button:text-is("All")');
}, 60_000);

test('roles: a viewer sees no write controls; sales writes only to conversations assigned to them', async () => {
  const { waId, id } = await inboundConversation('Who can see this?', 'Vera Viewer');
  const writes: string[] = [];

  const viewer = await signedInAs('viewer');
  viewer.page.on('request', (req) => req.method() !== 'GET' && writes.push(`${req.method()} ${req.url()}`));
  await viewer.page.goto(`${h.apiUrl}/console/#/inbox/${id}`);
  const chat = viewer.page.locator(`.chat[data-conversation-id="${id}"]`);
  await chat.locator('.conversation-controls[data-writable="false"]').waitFor();
  await viewer.page.locator(`.conversation-row[data-phone="${waId}"]`).waitFor();
  expect(await chat.locator('button').count()).toBe(0);
  expect(await chat.locator('select, input, textarea').count()).toBe(0);
  expect(await chat.locator('.read-only').textContent()).toContain('Read only');
  expect(await viewer.page.locator('a:text-is("New conversation")').count()).toBe(0);
  // Still reads everything: the lifecycle as values.
  expect(await chat.locator('.conversation-controls').textContent()).toMatch(/Open[\s\S]*Assigned to[\s\S]*nobody/);

  const sales = await signedInAs('sales', `#/inbox/${id}`);
  const salesChat = sales.page.locator(`.chat[data-conversation-id="${id}"]`);
  await salesChat.locator('.conversation-controls[data-writable="false"]').waitFor();
  // Unassigned: sales may only claim it.
  expect(await salesChat.locator('button').allTextContents()).toEqual(['Assign to me']);
  expect(await salesChat.locator('textarea').count()).toBe(0);
  await salesChat.locator('button:text-is("Assign to me")').click();
  await salesChat.locator('.conversation-controls[data-writable="true"]').waitFor();
  expect((await detail(id)).assigned_to).toBe(sales.id);
  for (const label of ['Take over', 'Close', 'Unassign']) await salesChat.locator(`button:text-is("${label}")`).waitFor();
  expect(await salesChat.locator('select[name=assignee]').count()).toBe(0); // only admins list users

  // Someone else's conversation: read only for sales.
  expect((await h.api('POST', `/api/v1/conversations/${id}/assign`, { body: { assigned_to: anaId } })).status).toBe(200);
  await sales.page.reload();
  await sales.page.locator(`.chat[data-conversation-id="${id}"][data-assigned-to="${anaId}"] .conversation-controls[data-writable="false"]`).waitFor();
  expect(await salesChat.locator('button').count()).toBe(0);
  expect(await salesChat.locator('.read-only').textContent()).toContain('Assigned to someone else');

  // The viewer's page asked for nothing but reads.
  expect(writes).toEqual([]);
}, 60_000);
