import net from 'node:net';
import { dropPostgresSchema } from '@dovetail/hub';

/**
 * The PostgreSQL the tests use: DOVETAIL_TEST_DATABASE_URL, set by `npm test` or this workspace's
 * vitest globalSetup (scripts/vitest-postgres.ts) to a server they started, or given by the caller.
 */
export const testPostgresUrl = process.env['DOVETAIL_TEST_DATABASE_URL'] || process.env['DATABASE_URL'] || '';

/** A fresh schema name for one test file (dropped by the file's cleanup with dropPostgresSchema). */
export function freshSchemaName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${process.pid}`;
}

/** Whether something accepts TCP connections at the URL's host and port, within 2 s. */
export function postgresAnswers(url: string): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname, port: Number(parsed.port || 5432) });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The hub storages a cross-process test file runs against: SQLite and PostgreSQL (a fresh schema
 * named after `prefix`), always both. `prepare` is called first thing in the file's setup: on
 * PostgreSQL it fails the test (never skips it) when the server is missing or does not answer, and
 * registers the schema's drop with the file's cleanup.
 */
export type HubStorageAdapter = {
  name: 'sqlite' | 'postgres';
  /** The hub process's environment for this storage. */
  env: () => Record<string, string>;
  prepare: (cleanup: { add(name: string, run: () => unknown): void }) => Promise<void>;
};

export function hubStorageAdapters(prefix: string): HubStorageAdapter[] {
  const adapters: HubStorageAdapter[] = [{ name: 'sqlite', env: () => ({}), prepare: async () => {} }];
  const schema = freshSchemaName(prefix);
  adapters.push({
    name: 'postgres',
    env: () => ({ DATABASE_URL: testPostgresUrl, DATABASE_SCHEMA: schema }),
    async prepare(cleanup) {
      if (!testPostgresUrl) throw new Error('DOVETAIL_TEST_DATABASE_URL is not set: run the tests with npm test');
      if (!(await postgresAnswers(testPostgresUrl)))
        throw new Error(`PostgreSQL at ${testPostgresUrl} does not answer`);
      cleanup.add('drop the PostgreSQL schema', () => dropPostgresSchema(testPostgresUrl, schema));
    },
  });
  return adapters;
}
