/** One line per check: `PASS name: detail`; WARN does not fail the run, SKIP says why a check could not run. */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface CheckResult {
  status: CheckStatus;
  name: string;
  detail: string;
}

export type Print = (line: string) => void;

export const pass = (name: string, detail: string): CheckResult => ({ status: 'PASS', name, detail });
export const warn = (name: string, detail: string): CheckResult => ({ status: 'WARN', name, detail });
export const fail = (name: string, detail: string): CheckResult => ({ status: 'FAIL', name, detail });
export const skip = (name: string, detail: string): CheckResult => ({ status: 'SKIP', name, detail });

export function formatCheck(r: CheckResult): string {
  return `${r.status} ${r.name}: ${r.detail}`;
}

/** The summary line; the exit code is 1 when anything failed. */
export function summarize(results: CheckResult[]): { line: string; exitCode: number } {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const failed = [...new Set(results.filter((r) => r.status === 'FAIL').map((r) => r.name))];
  const tally = `${count('PASS')} passed, ${count('WARN')} warned, ${count('FAIL')} failed, ${count('SKIP')} skipped`;
  return failed.length ? { line: `FAILED: ${tally} (${failed.join(', ')})`, exitCode: 1 } : { line: `OK: ${tally}`, exitCode: 0 };
}

/** Why a network call failed, in a few words: the system error code when there is one. */
export function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const codeOf = (e: unknown) => (e as { code?: unknown } | undefined)?.code;
  const code = codeOf(err) ?? codeOf(err.cause) ?? codeOf((err as { errors?: unknown[] }).errors?.[0]);
  const message = err.message || (err as { errors?: Error[] }).errors?.[0]?.message || err.name;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/** Rejects after `ms` so a check that hangs (a black-holed host) cannot hang the command. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000}s (ETIMEDOUT)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
