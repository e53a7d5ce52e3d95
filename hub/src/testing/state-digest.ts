import { type DigestExclusions, stateDigest } from '@dovetail/shared/state-digest';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Tables a refused request may change at the hub, and why. Nothing else may change: a request
 * answered 4xx (or a sync frame refused) leaves every other row as it was.
 */
export const refusalMayChange: DigestExclusions = {
  // The audit trail records every authentication failure by design (issue 12, item 4): a refused
  // sign-in or token request appends a row.
  audit_log: { why: 'authentication failures are audited' },
  // Link liveness, not data: an edge's socket that closes (a refused frame closes it) records the
  // disconnect, and every frame or pong from the edge counts as contact.
  edge_streams: { why: 'the link state of a closed socket', columns: ['connected_at', 'last_seen_at'] },
};

/** A digest of every table of the hub's database (SQLite or the test's PostgreSQL schema). */
export function hubStateDigest(
  { db, dialect }: { db: Kysely<Database>; dialect: 'sqlite' | 'postgres' },
  exclude: DigestExclusions = refusalMayChange,
): Promise<Record<string, string>> {
  const raw = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  return stateDigest(
    {
      async tables() {
        const listed =
          dialect === 'sqlite'
            ? await sql<{
                name: string;
              }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(raw)
            : await sql<{
                name: string;
              }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
                raw,
              );
        return listed.rows.map((row) => row.name);
      },
      async rows(table) {
        return (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(raw)).rows;
      },
    },
    exclude,
  );
}
