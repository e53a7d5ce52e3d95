import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';

/**
 * `npm test` (and `npm run test:deep`): typecheck, lint and every workspace's vitest suite through
 * turbo, two tasks at a time, each workspace's progress printed as its files finish; then one line
 * summing the workspaces' reports, `tests: N passed, N failed` (a skipped or todo test counts as
 * failed: nothing here may skip).
 *
 * PostgreSQL: DOVETAIL_TEST_DATABASE_URL when given (CI may use the machine's server); otherwise one
 * server from the embedded-postgres package, started here once for the whole run, shared by every
 * workspace's suites and stopped at the end (scripts/embedded-postgres.ts). `--deep` sets
 * DOVETAIL_DEEP=1: the simulation and chaos runs take their long schedules (CONTRIBUTING.md).
 */
const root = path.resolve(import.meta.dirname, '..');
/** Every workspace with a test script writes `<workspace>/.reports/vitest.json`; all are summed. */
const workspaces = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces as string[]).filter(
  (workspace) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, workspace, 'package.json'), 'utf8'));
    return typeof manifest.scripts?.test === 'string';
  },
);
const env: NodeJS.ProcessEnv = { ...process.env, DOVETAIL_REQUIRE_POSTGRES: '1' };
if (process.argv.includes('--deep')) env['DOVETAIL_DEEP'] = '1';

for (const workspace of workspaces) fs.rmSync(path.join(root, workspace, '.reports', 'vitest.json'), { force: true });

let postgres: EmbeddedPostgres | undefined;
if (!env['DOVETAIL_TEST_DATABASE_URL']) {
  postgres = await startEmbeddedPostgres();
  env['DOVETAIL_TEST_DATABASE_URL'] = postgres.url;
  console.log(`PostgreSQL for this run: ${new URL(postgres.url).host} (embedded-postgres, stopped at the end)`);
}

const started = Date.now();
const turbo = spawn(
  path.join(root, 'node_modules', '.bin', 'turbo'),
  [
    'run',
    'typecheck',
    'lint',
    'test',
    '--continue',
    '--concurrency=2',
    '--output-logs=full',
    '--log-order=stream',
    '--log-prefix=task',
    '--ui=stream',
  ],
  { cwd: root, env, stdio: 'inherit' },
);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interrupted = true;
    turbo.kill(signal);
  });
}
const code = await new Promise<number>((resolve) => {
  turbo.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});
await postgres?.stop();

let passed = 0;
let failed = 0;
const missing: string[] = [];
for (const workspace of workspaces) {
  const file = path.join(root, workspace, '.reports', 'vitest.json');
  if (!fs.existsSync(file)) {
    missing.push(workspace);
    continue;
  }
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (!report.success && report.numFailedTests === 0) failed += 1; // a file that failed to load
}
if (missing.length) {
  console.error(`no test report from: ${missing.join(', ')}`);
  failed += missing.length;
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const outcome = interrupted ? 'INTERRUPTED' : code === 0 ? 'passed' : 'FAILED';
console.log(`\ntypecheck, lint and tests ${outcome} after ${minutes} min`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 && !interrupted ? 0 : 1);
