import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChatSettings } from '../../src/workflows/definitions';

/** A worker in a child process: started, and killed with SIGKILL as a crash would. */
export class WorkerProcess {
  private child?: ChildProcess;
  constructor(private readonly opts: { taskQueue: string; graphUrl: string; llmUrl: string; settings: ChatSettings; sendConfirmGraceMs?: number }) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker-main.ts')], {
      env: {
        ...process.env,
        WORKER_TASK_QUEUE: this.opts.taskQueue,
        WORKER_GRAPH_URL: this.opts.graphUrl,
        WORKER_LLM_URL: this.opts.llmUrl,
        WORKER_SETTINGS: JSON.stringify(this.opts.settings),
        ...(this.opts.sendConfirmGraceMs === undefined ? {} : { WORKER_SEND_CONFIRM_GRACE_MS: String(this.opts.sendConfirmGraceMs) }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker process exited early with ${code}`)));
    });
  }

  /** kill -9: no graceful shutdown, in-flight activities die mid-call. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
