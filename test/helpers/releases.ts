/**
 * For the upgrade tests: the chat workflow as a past release shipped it (taken from this
 * repository's own git history; CI clones it whole), chats started the way that release started
 * them, and the patches a history records.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { CHAT_WORKFLOW_TYPE, chatWorkflowId, inboundMessageSignal, type InboundMessage } from '../../src/workflows/definitions';
import { chatModeKey, needsHumanKey, whatsAppPhoneKey } from '../../src/workflows/search-attributes';
import { newWamid } from './webhook-payload';

const EventType = temporal.api.enums.v1.EventType;
const ROOT = path.join(__dirname, '..', '..');

/** The workflow bundle of `src/workflows` at `commit`, built from a copy under .data/fixtures/<name>. */
export async function releaseBundle(commit: string, name: string): Promise<{ code: string }> {
  const fixture = path.join(ROOT, '.data', 'fixtures', name);
  rmSync(fixture, { recursive: true, force: true });
  mkdirSync(fixture, { recursive: true });
  const archive = execFileSync('git', ['archive', commit, 'src/workflows'], { cwd: ROOT, maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', fixture], { input: archive });
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(fixture, 'src', 'workflows', 'index.ts'), logger: quiet });
  return { code: bundle.code };
}

/**
 * A chat started as releases before the inbox started them: by signal-with-start, with only
 * WhatsAppPhone, ChatMode and NeedsHuman (no ConversationStatus, no BusinessNumber).
 */
export async function startChatAsBefore(client: Client, taskQueue: string, waId: string, text: string): Promise<void> {
  const message: InboundMessage = { wamid: newWamid(), waId, sentAt: Date.now(), type: 'text', text, answerable: true };
  await client.workflow.signalWithStart(CHAT_WORKFLOW_TYPE, {
    workflowId: chatWorkflowId(waId),
    taskQueue,
    args: [{ waId }],
    signal: inboundMessageSignal,
    signalArgs: [message],
    typedSearchAttributes: [
      { key: whatsAppPhoneKey, value: waId },
      { key: chatModeKey, value: 'bot' },
      { key: needsHumanKey, value: false },
    ],
  });
}

/** The patch ids a history records, in order (local activities' markers are not patches). */
export const patchIds = (events: temporal.api.history.v1.IHistoryEvent[]): (string | undefined)[] =>
  events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
    .map((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data)
    .filter((data) => data !== undefined && data !== null)
    .map((data) => (JSON.parse(Buffer.from(data!).toString()) as { id?: string }).id);

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
