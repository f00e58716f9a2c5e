import { ScheduleNotFoundError } from '@temporalio/client';
import type { CampaignWorkflowResult } from '../src/workflows/campaign-definitions';
import { createCampaign, createTemplate, importContacts, sendsPerRecipient, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
let templateId: number;
beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  templateId = (await createTemplate(h)).id;
});
afterAll(async () => {
  await h?.stop();
});

const base = '/api/v1/campaigns';

/** The SPEC §5 error body, with the given status and code. */
function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(res.body.error).sort()).toEqual(['code', 'details', 'message', 'request_id', 'timestamp']);
  expect(res.body.error).toMatchObject({
    message: expect.stringMatching(/\S/),
    request_id: expect.stringMatching(/\S/),
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });
  return res.body.error as { code: string; message: string; details: any };
}

/** Field names a VALIDATION_ERROR's details point at. */
const fieldsOf = (err: { details: any }) => (err.details as { field: string }[]).map((d) => d.field);

/** Contacts tagged with a fresh tag: the audience of one campaign. */
async function audienceOf(n: number, name: string) {
  const tag = uniqueTag(name);
  const waIds = uniqueWaIds(n);
  const ids = await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Eve', tags: [tag] })),
  );
  return { tag, waIds, ids };
}

/** The workflow run a Schedule started, once it has finished. */
async function runResult(workflowId: string): Promise<CampaignWorkflowResult> {
  return h.client.workflow.getHandle(workflowId).result() as Promise<CampaignWorkflowResult>;
}

describe('CRUD', () => {
  test('create answers 201 with the defaults; get shows zero stats and no schedule before start', async () => {
    const tag = uniqueTag('crud');
    const created = await h.api('POST', base, { body: { name: `Spring ${tag}`, template_id: templateId, audience: { tags: [tag] } } });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect(created.body).toMatchObject({
      id: expect.any(Number),
      name: `Spring ${tag}`,
      template_id: templateId,
      status: 'draft',
      rate_per_second: 20,
      schedule_id: `campaign-${id}`,
      variables: {},
      audience: { tags: [tag], tags_match: 'any' },
      scheduled_at: null,
      cron: null,
    });

    const got = await h.api('GET', `${base}/${id}`, { key: KEYS.viewer });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id,
      status: 'draft',
      messages_sent: 0,
      messages_delivered: 0,
      messages_read: 0,
      messages_failed: 0,
      replies_received: 0,
      schedule: null,
      progress: null,
    });
  });

  test('list filters by status, search and template, and pages with skip/limit (newest first)', async () => {
    const tag = uniqueTag('list');
    const otherTemplate = (await createTemplate(h)).id;
    const a = await createCampaign(h, { name: `List ${tag} A`, template_id: templateId });
    const b = await createCampaign(h, { name: `List ${tag} B`, template_id: templateId, description: 'second one' });
    const c = await createCampaign(h, { name: `Other ${tag}`, template_id: otherTemplate });

    const all = await h.api('GET', `${base}?search=${encodeURIComponent(tag)}`, { key: KEYS.viewer });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, skip: 0, limit: 100 });
    expect(all.body.campaigns.map((x: { id: number }) => x.id)).toEqual([c.id, b.id, a.id]);
    expect(all.body.campaigns[0].schedule_id).toBe(`campaign-${c.id}`);

    const named = await h.api('GET', `${base}?search=${encodeURIComponent(`List ${tag}`)}`);
    expect(named.body.campaigns.map((x: { id: number }) => x.id)).toEqual([b.id, a.id]);
    const byDescription = await h.api('GET', `${base}?search=${encodeURIComponent(tag)}&template_id=${templateId}&status=draft`);
    expect(byDescription.body.total).toBe(2);
    const byTemplate = await h.api('GET', `${base}?search=${encodeURIComponent(tag)}&template_id=${otherTemplate}`);
    expect(byTemplate.body.campaigns.map((x: { id: number }) => x.id)).toEqual([c.id]);
    // LIKE wildcards in the search are taken literally.
    expect((await h.api('GET', `${base}?search=${encodeURIComponent(`${tag}%`)}`)).body.total).toBe(0);

    const page1 = await h.api('GET', `${base}?search=${encodeURIComponent(tag)}&limit=2`);
    const page2 = await h.api('GET', `${base}?search=${encodeURIComponent(tag)}&limit=2&skip=2`);
    expect(page1.body).toMatchObject({ total: 3, skip: 0, limit: 2 });
    expect(page1.body.campaigns.map((x: { id: number }) => x.id)).toEqual([c.id, b.id]);
    expect(page2.body).toMatchObject({ total: 3, skip: 2, limit: 2 });
    expect(page2.body.campaigns.map((x: { id: number }) => x.id)).toEqual([a.id]);

    const drafts = await h.api('GET', `${base}?status=draft&search=${encodeURIComponent(tag)}`);
    expect(drafts.body.total).toBe(3);
    const completed = await h.api('GET', `${base}?status=completed&search=${encodeURIComponent(tag)}`);
    expect(completed.body).toMatchObject({ total: 0, campaigns: [] });
    expectError(await h.api('GET', `${base}?status=bogus`), 400, 'VALIDATION_ERROR');
    expectError(await h.api('GET', `${base}?limit=0`), 400, 'VALIDATION_ERROR');
  });

  test('PUT changes what it is given; setting cron clears scheduled_at and vice versa', async () => {
    const tag = uniqueTag('put');
    const at = new Date(Date.now() + 86_400_000).toISOString();
    const { id } = await createCampaign(h, { name: `Put ${tag}`, template_id: templateId, scheduled_at: at });
    const before = await h.api('GET', `${base}/${id}`);
    expect(new Date(before.body.scheduled_at).toISOString()).toBe(at);

    const renamed = await h.api('PUT', `${base}/${id}`, { body: { name: `Renamed ${tag}`, description: 'new text' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: `Renamed ${tag}`, description: 'new text', status: 'draft', schedule_id: `campaign-${id}` });
    expect(new Date(renamed.body.scheduled_at).toISOString()).toBe(at);

    const cron = await h.api('PUT', `${base}/${id}`, { body: { cron: '0 9 * * MON', timezone: 'Europe/Berlin' } });
    expect(cron.status).toBe(200);
    expect(cron.body).toMatchObject({ cron: '0 9 * * MON', timezone: 'Europe/Berlin', scheduled_at: null, name: `Renamed ${tag}` });

    const once = await h.api('PUT', `${base}/${id}`, { body: { scheduled_at: at } });
    expect(once.status).toBe(200);
    expect(once.body.cron).toBeNull();
    expect(new Date(once.body.scheduled_at).toISOString()).toBe(at);

    const stored = await h.api('GET', `${base}/${id}`);
    expect(stored.body).toMatchObject({ name: `Renamed ${tag}`, cron: null, status: 'draft' });

    expectError(await h.api('PUT', `${base}/${id}`, { body: { rate_per_second: 81 } }), 400, 'VALIDATION_ERROR');
    expectError(await h.api('PUT', `${base}/${id}`, { body: { template_id: 2_000_000_000 } }), 400, 'VALIDATION_ERROR');
    expectError(await h.api('PUT', `${base}/999999999`, { body: { name: 'x' } }), 404, 'NOT_FOUND');
  });

  test('PUT leaves the fields it is not given alone (rate, audience, variables)', async () => {
    const tag = uniqueTag('partial');
    const { id } = await createCampaign(h, {
      name: `Partial ${tag}`,
      template_id: templateId,
      audience: { tags: [tag], tags_match: 'all', exclude_tags: ['vip'] },
      variables: { promo: 'SPRING10' },
      rate_per_second: 5,
    });
    const res = await h.api('PUT', `${base}/${id}`, { body: { name: `Partial renamed ${tag}` } });
    expect(res.status).toBe(200);
    const after = await h.api('GET', `${base}/${id}`);
    expect(after.body).toMatchObject({
      name: `Partial renamed ${tag}`,
      rate_per_second: 5,
      variables: { promo: 'SPRING10' },
      audience: { tags: [tag], tags_match: 'all', exclude_tags: ['vip'] },
    });
  });

  test('an empty PUT is a 400 and changes nothing', async () => {
    const tag = uniqueTag('empty');
    const { id } = await createCampaign(h, { name: `Empty ${tag}`, template_id: templateId, audience: { tags: [tag] }, rate_per_second: 5 });
    expectError(await h.api('PUT', `${base}/${id}`, { body: {} }), 400, 'VALIDATION_ERROR');
    expect((await h.api('GET', `${base}/${id}`)).body).toMatchObject({ rate_per_second: 5, audience: { tags: [tag] } });
  });

  test('duplicate makes a draft copy with the same template and audience; delete answers 204 then 404', async () => {
    const tag = uniqueTag('dup');
    const source = await createCampaign(h, {
      name: `Dup ${tag}`,
      description: 'original',
      template_id: templateId,
      audience: { tags: [tag], exclude_tags: ['churned'] },
      variables: { promo: 'X1' },
      rate_per_second: 7,
      cron: '0 8 * * *',
      timezone: 'Asia/Kolkata',
    });
    const dup = await h.api('POST', `${base}/${source.id}/duplicate`, { key: KEYS.marketer });
    expect(dup.status).toBe(201);
    expect(dup.body.id).not.toBe(source.id);
    expect(dup.body).toMatchObject({
      name: `Dup ${tag} (copy)`,
      description: 'original',
      status: 'draft',
      template_id: templateId,
      audience: { tags: [tag], exclude_tags: ['churned'], tags_match: 'any' },
      variables: { promo: 'X1' },
      rate_per_second: 7,
      cron: '0 8 * * *',
      timezone: 'Asia/Kolkata',
      schedule_id: `campaign-${dup.body.id}`,
      total_recipients: null,
      started_at: null,
    });
    expectError(await h.api('POST', `${base}/999999999/duplicate`), 404, 'NOT_FOUND');

    const deleted = await h.api('DELETE', `${base}/${dup.body.id}`, { key: KEYS.marketer });
    expect(deleted.status).toBe(204);
    expectError(await h.api('GET', `${base}/${dup.body.id}`), 404, 'NOT_FOUND');
    expectError(await h.api('DELETE', `${base}/${dup.body.id}`), 404, 'NOT_FOUND');
    // The source is untouched.
    expect((await h.api('GET', `${base}/${source.id}`)).body).toMatchObject({ name: `Dup ${tag}`, status: 'draft' });
  });
});

describe('validation', () => {
  const valid = () => ({ name: `Valid ${uniqueTag('v')}`, template_id: templateId });

  test('bad bodies are 400 VALIDATION_ERROR naming the field', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['rate 81', { rate_per_second: 81 }, 'rate_per_second'],
      ['rate 0', { rate_per_second: 0 }, 'rate_per_second'],
      ['rate 2.5', { rate_per_second: 2.5 }, 'rate_per_second'],
      ['both timings', { scheduled_at: new Date(Date.now() + 3_600_000).toISOString(), cron: '0 9 * * *' }, 'cron'],
      ['cron in words', { cron: 'every monday' }, 'cron'],
      ['bad timezone', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      ['unknown audience key', { audience: { tags: ['a'], segment: 'vip' } }, 'audience'],
      ['no name', { name: '' }, 'name'],
      ['date without offset', { scheduled_at: '2030-01-01T10:00:00' }, 'scheduled_at'],
    ];
    for (const [label, patch, field] of cases) {
      const res = await h.api('POST', base, { body: { ...valid(), ...patch } });
      const err = expectError(res, 400, 'VALIDATION_ERROR');
      expect({ label, fields: fieldsOf(err).map((f) => f.split('.')[0]) }).toEqual({ label, fields: expect.arrayContaining([field]) });
    }
    const noTemplate = expectError(await h.api('POST', base, { body: { ...valid(), template_id: 2_000_000_000 } }), 400, 'VALIDATION_ERROR');
    expect(noTemplate.message).toMatch(/template_id/);
    const missing = expectError(await h.api('POST', base, { body: { name: 'no template' } }), 400, 'VALIDATION_ERROR');
    expect(fieldsOf(missing)).toContain('template_id');
    expectError(await h.api('POST', base, { body: { ...valid(), audience: { tags_match: 'some' } } }), 400, 'VALIDATION_ERROR');
  });

  test('start checks its timing: a past scheduled_at and a cron Temporal rejects are 400 and leave the draft as it was', async () => {
    const { id } = await createCampaign(h, valid());
    const past = await h.api('POST', `${base}/${id}/start`, { body: { scheduled_at: new Date(Date.now() - 60_000).toISOString() } });
    expect(expectError(past, 400, 'VALIDATION_ERROR').message).toMatch(/scheduled_at/);
    expectError(
      await h.api('POST', `${base}/${id}/start`, { body: { scheduled_at: new Date(Date.now() + 60_000).toISOString(), cron: '0 9 * * *' } }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(await h.api('POST', `${base}/${id}/start`, { body: { cron: '0 9 * * *', timezone: 'Nowhere/Town' } }), 400, 'VALIDATION_ERROR');
    // Looks like a cron line (five fields) but has no valid minute or hour: Temporal says no.
    const impossible = await h.api('POST', `${base}/${id}/start`, { body: { cron: '61 25 * * *' } });
    expectError(impossible, 400, 'VALIDATION_ERROR');

    const after = await h.api('GET', `${base}/${id}`);
    expect(after.body).toMatchObject({ status: 'draft', cron: null, scheduled_at: null, schedule: null });
  });

  test('non-numeric, out-of-range and unknown ids are 404 on every campaign route', async () => {
    for (const raw of ['abc', '1.5', '-1', '0', '99999999999', '999999999']) {
      expectError(await h.api('GET', `${base}/${raw}`), 404, 'NOT_FOUND');
    }
    expectError(await h.api('GET', `${base}/abc/stats`), 404, 'NOT_FOUND');
    expectError(await h.api('GET', `${base}/999999999/recipients`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/999999999/start`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/abc/pause`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/999999999/schedule/trigger`), 404, 'NOT_FOUND');
  });
});

describe('conflicts', () => {
  test('a campaign whose template is not APPROVED cannot start and stays a draft', async () => {
    const pending = await createTemplate(h, 'Hello {{first_name}}', 'PENDING');
    const { tag } = await audienceOf(1, 'pending');
    const { id } = await createCampaign(h, { template_id: pending.id, audience: { tags: [tag] } });
    const res = await h.api('POST', `${base}/${id}/start`);
    expect(expectError(res, 409, 'CONFLICT').message).toMatch(/PENDING/);
    expect((await h.api('GET', `${base}/${id}`)).body).toMatchObject({ status: 'draft', schedule: null });
  });

  test('pause and resume need a run in progress; a draft has no Schedule to trigger', async () => {
    const { id } = await createCampaign(h, { template_id: templateId });
    expectError(await h.api('POST', `${base}/${id}/pause`), 409, 'CONFLICT');
    expectError(await h.api('POST', `${base}/${id}/resume`), 409, 'CONFLICT');
    expectError(await h.api('POST', `${base}/${id}/schedule/trigger`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/${id}/schedule/pause`), 404, 'NOT_FOUND');
    expect((await h.api('GET', `${base}/${id}`)).body.status).toBe('draft');
  });

  test('while running: start, trigger, PUT and DELETE are 409; after stop, pause/resume are 409 again', async () => {
    const { tag, waIds } = await audienceOf(60, 'busy');
    const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, rate_per_second: 5 });
    const started = await h.api('POST', `${base}/${id}/start`, { key: KEYS.marketer });
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ campaign_id: id, status: 'scheduled', starts: 'now', schedule_id: `campaign-${id}` });
    await waitForStatus(h, id, 'running', 20_000);

    expectError(await h.api('POST', `${base}/${id}/start`), 409, 'CONFLICT');
    expectError(await h.api('POST', `${base}/${id}/schedule/trigger`), 409, 'CONFLICT');
    expectError(await h.api('PUT', `${base}/${id}`, { body: { rate_per_second: 80 } }), 409, 'CONFLICT');
    expectError(await h.api('DELETE', `${base}/${id}`), 409, 'CONFLICT');
    const still = await h.api('GET', `${base}/${id}`);
    expect(still.body).toMatchObject({ status: 'running', rate_per_second: 5 });

    expect((await h.api('POST', `${base}/${id}/stop`)).status).toBe(202);
    const stopped = await waitForStatus(h, id, 'stopped', 20_000);
    expect(stopped.messages_sent).toBeLessThan(60);
    expect(sendsPerRecipient(h, waIds).size).toBe(stopped.messages_sent);
    expectError(await h.api('POST', `${base}/${id}/pause`), 409, 'CONFLICT');
    expectError(await h.api('POST', `${base}/${id}/resume`), 409, 'CONFLICT');
    // Stopped is editable and deletable; deleting also removes its Schedule.
    expect((await h.api('DELETE', `${base}/${id}`)).status).toBe(204);
    await expect(h.client.schedule.getHandle(`campaign-${id}`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  test('a completed campaign cannot be started again', async () => {
    const { tag } = await audienceOf(2, 'done');
    const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] } });
    expect((await h.api('POST', `${base}/${id}/start`)).status).toBe(202);
    await waitForStatus(h, id, 'completed', 30_000);
    expect(expectError(await h.api('POST', `${base}/${id}/start`), 409, 'CONFLICT').message).toMatch(/completed/);
    expectError(await h.api('POST', `${base}/${id}/schedule/trigger`), 409, 'CONFLICT');
    expect((await h.api('GET', `${base}/${id}`)).body).toMatchObject({ status: 'completed', messages_sent: 2 });
  });
});

describe('roles', () => {
  test('viewer reads everything and changes nothing; operator cannot create; marketer can; no key is 401', async () => {
    const { tag } = await audienceOf(1, 'roles');
    const { id } = await createCampaign(h, { name: `roles ${tag}`, template_id: templateId, audience: { tags: [tag] } });
    for (const path of [base, `${base}/${id}`, `${base}/${id}/stats`, `${base}/stats/overview`, `${base}/${id}/recipients`]) {
      const res = await h.api('GET', path, { key: KEYS.viewer });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    const body = { name: `viewer ${tag}`, template_id: templateId };
    expectError(await h.api('POST', base, { body, key: KEYS.viewer }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('POST', `${base}/${id}/start`, { key: KEYS.viewer }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('POST', `${base}/${id}/pause`, { key: KEYS.viewer }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('PUT', `${base}/${id}`, { body: { name: 'x' }, key: KEYS.viewer }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('DELETE', `${base}/${id}`, { key: KEYS.viewer }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('POST', base, { body, key: KEYS.operator }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('POST', `${base}/${id}/start`, { key: KEYS.operator }), 403, 'AUTHORIZATION_ERROR');
    expectError(await h.api('POST', base, { body, key: null }), 401, 'AUTHENTICATION_ERROR');
    expectError(await h.api('GET', base, { key: null }), 401, 'AUTHENTICATION_ERROR');
    expectError(await h.api('GET', `${base}/${id}`, { key: 'not-a-key' }), 401, 'AUTHENTICATION_ERROR');

    // Nothing the refused calls asked for happened.
    expect((await h.api('GET', `${base}/${id}`)).body).toMatchObject({ status: 'draft', schedule: null, name: `roles ${tag}` });
    expect((await h.api('GET', `${base}?search=${encodeURIComponent(`viewer ${tag}`)}`)).body.total).toBe(0);

    const byMarketer = await h.api('POST', base, { body: { ...body, name: `marketer ${tag}` }, key: KEYS.marketer });
    expect(byMarketer.status).toBe(201);
    expect(byMarketer.body.created_by).toMatch(/^key:/);
  });
});

describe('cron schedule', () => {
  test('a yearly cron campaign is scheduled; its Schedule pauses, unpauses, triggers (each contact once) and goes away on complete', async () => {
    const { tag, waIds } = await audienceOf(3, 'cron');
    const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, cron: '0 0 1 1 *', timezone: 'Europe/Berlin' });
    const started = await h.api('POST', `${base}/${id}/start`, { key: KEYS.marketer });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ campaign_id: id, status: 'scheduled', starts: 'cron' });

    const scheduled = await h.api('GET', `${base}/${id}`);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', schedule: { id: `campaign-${id}`, paused: false } });
    // Midnight of 1 January in Berlin (UTC+1 in winter) is 23:00 UTC on 31 December.
    expect(scheduled.body.schedule.next_run_times.length).toBeGreaterThan(0);
    expect(scheduled.body.schedule.next_run_times[0]).toMatch(/^\d{4}-12-31T23:00:00\.000Z$/);
    expect(sendsPerRecipient(h, waIds).size).toBe(0);

    const paused = await h.api('POST', `${base}/${id}/schedule/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ campaign_id: id, schedule_id: `campaign-${id}`, paused: true });
    expect((await h.api('GET', `${base}/${id}`)).body.schedule.paused).toBe(true);
    expect((await h.api('POST', `${base}/${id}/schedule/unpause`)).body.paused).toBe(false);
    expect((await h.api('GET', `${base}/${id}`)).body.schedule.paused).toBe(false);

    // Fire now: everyone gets the campaign, and the cron stays in force afterwards.
    expect((await h.api('POST', `${base}/${id}/schedule/trigger`)).status).toBe(202);
    const firstRun = await eventually(async () => {
      const runs = (await h.api('GET', `${base}/${id}`)).body.schedule.recent_runs as { workflow_id: string }[];
      if (runs.length !== 1) throw new Error(`${runs.length} runs`);
      return runs[0]!.workflow_id;
    }, 20_000);
    expect(firstRun).toMatch(new RegExp(`^campaign-${id}-`));
    expect(await runResult(firstRun)).toMatchObject({ ending: 'finished', counts: { sent: 3, failed: 0 } });
    const counts = sendsPerRecipient(h, waIds);
    expect(counts.size).toBe(3);
    expect([...counts.values()]).toEqual([1, 1, 1]);
    const afterFirst = await h.api('GET', `${base}/${id}`);
    expect(afterFirst.body).toMatchObject({ status: 'scheduled', messages_sent: 3, current_workflow_id: null, schedule: { paused: false } });
    expect(afterFirst.body.schedule.next_run_times[0]).toMatch(/-12-31T23:00:00\.000Z$/);

    // Fire again: the run finds everyone already handled and sends nothing. (Run ids carry the
    // fire time to the second, so the second run is fired in a later second.)
    await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
    expect((await h.api('POST', `${base}/${id}/schedule/trigger`)).status).toBe(202);
    const secondRun = await eventually(async () => {
      const runs = (await h.api('GET', `${base}/${id}`)).body.schedule.recent_runs as { workflow_id: string }[];
      if (runs.length !== 2) throw new Error(`${runs.length} runs`);
      return runs[1]!.workflow_id;
    }, 20_000);
    expect(secondRun).not.toBe(firstRun);
    expect(await runResult(secondRun)).toMatchObject({ ending: 'finished', counts: { sent: 3 } });
    expect([...sendsPerRecipient(h, waIds).values()]).toEqual([1, 1, 1]);
    expect((await h.api('GET', `${base}/${id}`)).body).toMatchObject({ status: 'scheduled', messages_sent: 3 });

    // Complete: closed for good, and its Schedule is gone.
    expect((await h.api('POST', `${base}/${id}/complete`)).status).toBe(202);
    const completed = await h.api('GET', `${base}/${id}`);
    expect(completed.body).toMatchObject({ status: 'completed', schedule: null });
    expect(completed.body.finished_at).not.toBeNull();
    await expect(h.client.schedule.getHandle(`campaign-${id}`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expectError(await h.api('POST', `${base}/${id}/schedule/pause`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/${id}/schedule/unpause`), 404, 'NOT_FOUND');
    expectError(await h.api('POST', `${base}/${id}/start`), 409, 'CONFLICT');
    expect(sendsPerRecipient(h, waIds).size).toBe(3);
  });

  test('PUT on a scheduled cron campaign moves its Schedule; a cron Temporal rejects is a 400 and changes nothing', async () => {
    const { tag } = await audienceOf(1, 'recron');
    const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, cron: '0 0 1 1 *', timezone: 'Europe/Berlin' });
    expect((await h.api('POST', `${base}/${id}/start`)).status).toBe(202);
    const moved = await h.api('PUT', `${base}/${id}`, { body: { cron: '0 0 1 6 *' } });
    expect(moved.status).toBe(200);
    // Midnight of 1 June in Berlin (UTC+2 in summer) is 22:00 UTC on 31 May.
    const detail = await h.api('GET', `${base}/${id}`);
    expect(detail.body).toMatchObject({ status: 'scheduled', cron: '0 0 1 6 *', timezone: 'Europe/Berlin' });
    expect(detail.body.schedule.next_run_times[0]).toMatch(/^\d{4}-05-31T22:00:00\.000Z$/);

    const refused = await h.api('PUT', `${base}/${id}`, { body: { cron: '61 25 * * *' } });
    expectError(refused, 400, 'VALIDATION_ERROR');
    const unchanged = await h.api('GET', `${base}/${id}`);
    expect(unchanged.body).toMatchObject({ status: 'scheduled', cron: '0 0 1 6 *' });
    expect(unchanged.body.schedule.next_run_times[0]).toMatch(/-05-31T22:00:00\.000Z$/);

    expect((await h.api('POST', `${base}/${id}/complete`)).status).toBe(202);
    await expect(h.client.schedule.getHandle(`campaign-${id}`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});

describe('stats', () => {
  test('per-campaign stats, receipts, the overview and recipients paging', async () => {
    const { tag, waIds, ids } = await audienceOf(4, 'stats');
    const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] } });
    expect((await h.api('POST', `${base}/${id}/start`)).status).toBe(202);
    await waitForStatus(h, id, 'completed', 30_000);

    const before = await h.api('GET', `${base}/${id}/stats`, { key: KEYS.viewer });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      campaign_id: id,
      status: 'completed',
      total_recipients: 4,
      recipients: 4,
      sent: 4,
      delivered: 0,
      read: 0,
      failed: 0,
      unconfirmed: 0,
      pending: 0,
      replies: 0,
      delivery_rate: 0,
      read_rate: 0,
      reply_rate: 0,
      failures_by_code: {},
    });

    const recipients = await h.api('GET', `${base}/${id}/recipients`, { key: KEYS.viewer });
    expect(recipients.body.total).toBe(4);
    const rows = recipients.body.recipients as { contact_id: number; wa_id: string; wamid: string; state: string; delivery_status: string }[];
    expect(rows.map((r) => r.wa_id).sort()).toEqual([...waIds].sort());
    expect(rows.map((r) => r.contact_id)).toEqual([...ids.values()].sort((a, b) => a - b));
    for (const r of rows) {
      expect(r).toMatchObject({ state: 'sent', delivery_status: 'sent', wamid: expect.stringMatching(/^wamid\./) });
      expect(h.graph.sentTo(r.wa_id).map((s) => s.wamid)).toEqual([r.wamid]);
    }

    const overviewBefore = (await h.api('GET', `${base}/stats/overview`, { key: KEYS.viewer })).body;

    const ts = Math.floor(Date.now() / 1000);
    const status = (r: (typeof rows)[number], s: string, extra: Record<string, unknown> = {}) => ({
      id: r.wamid,
      status: s,
      timestamp: String(ts),
      recipient_id: r.wa_id,
      ...extra,
    });
    const [a, b, c] = rows as [(typeof rows)[number], (typeof rows)[number], (typeof rows)[number]];
    const failure = { errors: [{ code: 131026, title: 'Message undeliverable' }] };
    const posted = await h.inbound([], [status(a, 'delivered'), status(b, 'delivered'), status(b, 'read'), status(c, 'failed', failure)]);
    expect(posted.status).toBe(200);

    const after = await h.api('GET', `${base}/${id}/stats`);
    // A message WhatsApp accepted and later could not deliver counts as failed, not sent.
    expect(after.body).toMatchObject({
      sent: 3,
      delivered: 2,
      read: 1,
      failed: 1,
      pending: 0,
      delivery_rate: 66.67,
      read_rate: 33.33,
      failures_by_code: { '131026': 1 },
    });
    const detail = await h.api('GET', `${base}/${id}`);
    expect(detail.body).toMatchObject({ messages_sent: 3, messages_delivered: 2, messages_read: 1, messages_failed: 1 });

    const listed = (await h.api('GET', `${base}/${id}/recipients`)).body.recipients as typeof rows;
    expect(Object.fromEntries(listed.map((r) => [r.wamid, r.delivery_status]))).toEqual({
      [a.wamid]: 'delivered',
      [b.wamid]: 'read',
      [c.wamid]: 'failed',
      [rows[3]!.wamid]: 'sent',
    });

    const overview = (await h.api('GET', `${base}/stats/overview`, { key: KEYS.viewer })).body;
    expect(overview.messages_sent).toBeGreaterThanOrEqual(4);
    expect(overview.messages_delivered - overviewBefore.messages_delivered).toBeGreaterThanOrEqual(2);
    expect(overview.messages_read - overviewBefore.messages_read).toBeGreaterThanOrEqual(1);
    expect(overview.messages_failed - overviewBefore.messages_failed).toBeGreaterThanOrEqual(1);
    expect(overview.campaigns_by_status.completed).toBeGreaterThanOrEqual(1);
    expect(overview.total_campaigns).toBe(Object.values(overview.campaigns_by_status as Record<string, number>).reduce((x, y) => x + y, 0));
    expect(overview.active_campaigns).toBe((overview.campaigns_by_status.running ?? 0) + (overview.campaigns_by_status.paused ?? 0));
    expect(overview.delivery_rate).toBeCloseTo((overview.messages_delivered / overview.messages_sent) * 100, 1);

    // Paging through the sent recipients, in contact order, with nothing repeated or missed.
    const page = (skip: number) => h.api('GET', `${base}/${id}/recipients?state=sent&limit=3&skip=${skip}`);
    const p1 = (await page(0)).body;
    const p2 = (await page(3)).body;
    const p3 = (await page(6)).body;
    expect(p1).toMatchObject({ total: 4, skip: 0, limit: 3 });
    expect(p2).toMatchObject({ total: 4, skip: 3, limit: 3 });
    expect(p3).toMatchObject({ total: 4, recipients: [] });
    expect([...p1.recipients, ...p2.recipients].map((r: { contact_id: number }) => r.contact_id)).toEqual(rows.map((r) => r.contact_id));
    expect((await h.api('GET', `${base}/${id}/recipients?state=unconfirmed`)).body).toMatchObject({ total: 0, recipients: [] });
    expectError(await h.api('GET', `${base}/${id}/recipients?state=bogus`), 400, 'VALIDATION_ERROR');
  });
});
