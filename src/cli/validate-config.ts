import { checkConfig, checkDatabase, checkLlm, checkTemporal, checkWhatsApp } from './checks';
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
    const groups = await Promise.all([checkDatabase(config), checkTemporal(config), checkWhatsApp(config), checkLlm(config).then((r) => [r])]);
    results = [...results, ...groups.flat()];
  } else {
    results.push(skip('connections', 'not checked until the configuration parses'));
  }
  for (const r of results) print(formatCheck(r));
  const { line, exitCode } = summarize(results);
  print(line);
  return exitCode;
}
