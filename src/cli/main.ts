/**
 * Management commands (seed 003): `npm run cli -- validate-config` and
 * `npm run cli -- test-whatsapp --phone +14155238886 --message "hi"`. One PASS / WARN / FAIL line
 * per check on stdout; exit code 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import { testWhatsApp } from './test-whatsapp';
import { validateConfig } from './validate-config';

const USAGE = `Usage: npm run cli -- <command>

  validate-config
      Checks the environment, Postgres and its migrations, Temporal (namespace, search attributes),
      the WhatsApp provider's credentials, the LLM endpoint, and each number added at run time
      (its credentials decrypt with CREDENTIALS_ENCRYPTION_KEY and its provider accepts them).

  test-whatsapp --phone <number in international form> [--message <text>]
      Sends one text message through the configured WhatsApp provider.`;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'validate-config':
      return validateConfig(process.env, print);
    case 'test-whatsapp': {
      const { values } = parseArgs({ args: rest, options: { phone: { type: 'string' }, message: { type: 'string' } } });
      return testWhatsApp(process.env, values, print);
    }
    case undefined:
    case 'help':
    case '--help':
      print(USAGE);
      return command === undefined ? 1 : 0;
    default:
      print(`FAIL usage: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Every client is closed by now; this only guards against a stray handle keeping the process up.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    print(`FAIL ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
