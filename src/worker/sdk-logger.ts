import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const SDK_LEVEL: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** Sends the Temporal SDK's own logs (worker, activity and workflow loggers) through pino. */
export function installSdkLogger(log: Logger, level: string): void {
  const sdk = log.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[level] ?? 'INFO', ({ level: l, message, meta }) => {
      const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'INFO' ? 'info' : l === 'WARN' ? 'warn' : 'error';
      sdk[method](meta ?? {}, message);
    }),
  });
}
