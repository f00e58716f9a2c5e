import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from './helpers/histories';

// Histories recorded from earlier versions of the chat and campaign workflows (RECORD_HISTORIES=v<N> npm test).
// Today's code must replay every one of them without non-determinism.
const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

test('there are saved chat histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(8);
});

test.each(files)('replays %s', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history, file);
});
