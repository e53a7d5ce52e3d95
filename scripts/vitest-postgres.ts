import { startEmbeddedPostgres } from './embedded-postgres.ts';

/**
 * vitest globalSetup of the workspaces whose suites need PostgreSQL. `npm test` starts one server for
 * the whole run and passes it down in DOVETAIL_TEST_DATABASE_URL (as CI may pass its own); a workspace
 * run on its own (`cd hub && npx vitest run …`) finds none and starts one for itself, stopped when the
 * run ends. The PostgreSQL suites never skip and never fall back to anything else.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env['DOVETAIL_TEST_DATABASE_URL']) return undefined;
  const server = await startEmbeddedPostgres();
  // set before vitest starts its workers, which inherit this environment (and pass it to the
  // hub and edge processes the cross-process tests spawn)
  process.env['DOVETAIL_TEST_DATABASE_URL'] = server.url;
  return () => server.stop();
}
