import { checkConfig, checkDatabase, checkLlm, checkTemporal, checkWhatsApp } from './checks';
import { checkNumbers } from './number-checks';
import { formatCheck, skip, summarize, type CheckResult, type Print } from './report';

/**
 * Seed 003's validate_config: the environment, then everything it points at, one line per check.
 * Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
 */
export async function validateConfig(env: NodeJS.ProcessEnv, print: Print): Promise<number> {
  const { config, results: configResults } = checkConfig(env);
  let results: CheckResult[] = configResults;
  if (config) {
    // Independent, so they run side by side; printed in a fixed order.
    const database = checkDatabase(config);
    // The numbers are rows of a migrated database: read only once it is known to be there.
    const numbers = database.then((r) =>
      r.every((c) => c.status === 'PASS') ? checkNumbers(config) : [skip('numbers', 'not checked without a migrated database')],
    );
    const groups = await Promise.all([database, checkTemporal(config), checkWhatsApp(config), checkLlm(config).then((r) => [r]), numbers]);
    results = [...results, ...groups.flat()];
  } else {
    results.push(skip('connections', 'not checked until the configuration parses'));
  }
  for (const r of results) print(formatCheck(r));
  const { line, exitCode } = summarize(results);
  print(line);
  return exitCode;
}
