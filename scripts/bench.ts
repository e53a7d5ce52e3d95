import { spawn } from 'node:child_process';
import path from 'node:path';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';

/**
 * `npm run bench [-- names…]`: every workspace's bench through turbo, one at a time (figures taken
 * side by side would disturb each other). The PostgreSQL figures need a server: DOVETAIL_TEST_DATABASE_URL
 * when given, otherwise one from the embedded-postgres package, started here and stopped at the end,
 * as `npm test` does. Extra arguments pick benches by name prefix (tests/src/bench/run.ts).
 */
const root = path.resolve(import.meta.dirname, '..');
const env: NodeJS.ProcessEnv = { ...process.env };
let postgres: EmbeddedPostgres | undefined;
if (!env['DOVETAIL_TEST_DATABASE_URL']) {
  postgres = await startEmbeddedPostgres();
  env['DOVETAIL_TEST_DATABASE_URL'] = postgres.url;
  console.log(`PostgreSQL for the bench: ${new URL(postgres.url).host} (embedded-postgres, stopped at the end)`);
}
const names = process.argv.slice(2);
const turbo = spawn(
  path.join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'bench', '--output-logs=full', '--concurrency=1', '--ui=stream', ...(names.length ? ['--', ...names] : [])],
  { cwd: root, env, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => turbo.kill(signal));
const code = await new Promise<number>((resolve) => {
  turbo.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});
await postgres?.stop();
process.exit(code);
