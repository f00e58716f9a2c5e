import { loadConfigOrExit } from '../config';
import { migrateToLatest } from './migrate';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const { created, applied } = await migrateToLatest(config.DATABASE_URL);
  const where = new URL(config.DATABASE_URL).pathname.slice(1);
  if (created) console.log(`created database ${where}`);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : `database ${where} is up to date`);
}

main().catch((err: unknown) => {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
