import net from 'node:net';

/**
 * The PostgreSQL the tests may use: DOVETAIL_TEST_DATABASE_URL (CI sets it, with
 * DOVETAIL_REQUIRE_POSTGRES=1) or DATABASE_URL; empty when neither is set.
 */
export const testPostgresUrl = process.env['DOVETAIL_TEST_DATABASE_URL'] || process.env['DATABASE_URL'] || '';
export const postgresRequired = Boolean(process.env['DOVETAIL_REQUIRE_POSTGRES']);

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
