/**
 * Bundles the workflow code ahead of time (`npm run build:bundle [-- <out path>]`), so a worker
 * given WORKFLOW_BUNDLE_PATH polls at once instead of spending seconds in webpack at every start.
 * The Dockerfile runs it at image build time; the bundle must come from the same source as the
 * worker that loads it, so build it with the image, never by hand beside an older one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const DEFAULT_OUT = 'dist/workflow-bundle.js';

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? DEFAULT_OUT);
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quietLogger });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)`);
}

const noop = () => undefined;
// webpack's progress lines are noise here; its errors still stop the build (bundleWorkflowCode throws).
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

main().catch((err: unknown) => {
  console.error(`build-workflow-bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
