/**
 * The console's webhook logs page in a real browser (Debian's chromium through playwright-core,
 * as test/console.browser.test.ts): an admin finds the requests the webhooks received, filters
 * them, and reads one with its body; other roles have no such page.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium';
import { signBody } from '../src/api/webhook/signature';
import { APP_SECRET, eventually, startHarness, type Harness } from './helpers/harness';
import { newWamid, randomPhone, webhookBody } from './helpers/webhook-payload';

const PASSWORD = 'webhook-logs-test-password';
const admin = 'wl.admin@example.com';
const operator = 'wl.operator@example.com';

let h: Harness;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
  for (const [email, role] of [
    [admin, 'admin'],
    [operator, 'operator'],
  ]) {
    expect((await h.api('POST', '/api/v1/users', { body: { email, password: PASSWORD, full_name: role, role } })).status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

async function signIn(email: string, hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${h.apiUrl}/console/${hash}`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('.topbar').waitFor();
  return page;
}

test('an admin lists the webhook requests, filters them and reads one with its body', async () => {
  const waId = randomPhone();
  const wamid = newWamid();
  const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: 'Where is my order #2231?', wamid }] }));
  expect((await h.postRaw(body, { 'x-hub-signature-256': signBody(body, APP_SECRET) })).status).toBe(200);
  expect((await h.postRaw(body, { 'x-hub-signature-256': signBody(body, 'not-the-secret') })).status).toBe(401);

  const page = await signIn(admin, '#/inbox');
  await page.click('.topbar nav a:text-is("Webhook logs")');
  await page.locator('.webhook-logs h2', { hasText: 'Webhook logs' }).waitFor();
  // Both requests are there (the log is written just after each answer: Refresh until they are).
  const rows = page.locator('.webhook-log-row');
  for (let i = 0; i < 50 && (await page.locator('.webhook-log-row[data-outcome="signature_refused"]').count()) === 0; i++) {
    await page.click('.webhook-logs .page-head button:text-is("Refresh")');
    await page.waitForTimeout(200);
  }
  await page.locator('.webhook-log-row[data-outcome="accepted"]').first().waitFor();

  // Only the refused one: by signature, then by outcome and status class.
  await page.selectOption('.webhook-log-filters select[name=signature]', 'invalid');
  await page.click('.webhook-log-filters button[type=submit]');
  await eventually(async () => expect(await page.locator('.webhook-log-row:not([data-signature="invalid"])').count()).toBe(0));
  expect(await page.locator('.webhook-log-row[data-signature="invalid"]').count()).toBeGreaterThan(0);
  await page.click('.webhook-log-filters button:text-is("Reset")');
  await page.fill('.webhook-log-filters input[name=message_id]', wamid);
  await page.fill('.webhook-log-filters input[name=status]', '2xx');
  await page.click('.webhook-log-filters button[type=submit]');
  await eventually(async () => expect(await rows.count()).toBe(1));
  expect(await rows.first().getAttribute('data-status')).toBe('200');
  expect(await page.locator('.webhook-log-stats').getAttribute('data-total')).toBe('1');
  expect(await rows.first().textContent()).toContain('PNID');

  // The detail: what was answered and the body, pretty-printed.
  await rows.first().click();
  const detail = page.locator('.webhook-log-detail');
  await detail.locator('pre.webhook-log-body').waitFor();
  expect(page.url()).toMatch(/#\/webhook-logs\/\d+$/);
  expect(await detail.textContent()).toContain('accepted');
  expect(await detail.textContent()).toContain(wamid);
  const shown = (await detail.locator('pre.webhook-log-body').textContent())!;
  expect(shown).toBe(JSON.stringify(JSON.parse(body), null, 2));
  expect(shown).toContain('Where is my order #2231?');

  await detail.locator('a:text-is("Close")').click();
  await detail.waitFor({ state: 'detached' });
  await page.close();
  await h.settled(waId);
});

test('other roles have no webhook logs page: no tab, and the API refuses them', async () => {
  const page = await signIn(operator, '#/inbox');
  expect(await page.locator('.topbar nav a', { hasText: 'Webhook logs' }).count()).toBe(0);
  await page.goto(`${h.apiUrl}/console/#/webhook-logs`);
  await page.locator('.webhook-logs .error-note').waitFor();
  expect(await page.locator('.webhook-logs .error-note').textContent()).toContain('403');
  await page.close();
});
