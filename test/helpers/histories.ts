import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { chatWorkflowId } from '../../src/workflows/definitions';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/**
 * With RECORD_HISTORIES=<version tag> (e.g. v3), saves the chat's history for the replay test as
 * chat-<name>.<tag>.json. Record a new tag when the workflow changes; keep the old files: they are
 * what replay guards for workflows already running.
 */
export async function saveHistory(client: Client, waId: string, name: string): Promise<void> {
  await saveWorkflowHistory(client, chatWorkflowId(waId), `chat-${name}`);
}

/** The same for any workflow (campaign runs): saved as <file>.<tag>.json. */
export async function saveWorkflowHistory(client: Client, workflowId: string, file: string, runId?: string): Promise<void> {
  const tag = process.env.RECORD_HISTORIES;
  if (!tag) return;
  if (!/^v\d+$/.test(tag)) throw new Error('RECORD_HISTORIES must be a version tag such as v3');
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(path.join(HISTORIES_DIR, `${file}.${tag}.json`), historyToJSON(history));
}
