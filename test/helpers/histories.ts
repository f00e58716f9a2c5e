import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { chatWorkflowId } from '../../src/workflows/definitions';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/**
 * With RECORD_HISTORIES=1, saves the chat's history for the replay test. Run it when a workflow
 * change is meant to be compatible, and keep the old files: they are what replay guards.
 */
export async function saveHistory(client: Client, waId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(chatWorkflowId(waId)).fetchHistory();
  writeFileSync(path.join(HISTORIES_DIR, `chat-${name}.json`), historyToJSON(history));
}
