import { createHash } from 'node:crypto';

/**
 * A digest of everything a database holds, table by table, so a test can take one before a
 * request it expects to be refused and one after, and assert that nothing changed ("bad input
 * changes nothing"). Test-only (the `@dovetail/shared/state-digest` entry); each service passes a
 * reader for its own storage (better-sqlite3 at the edge, Kysely on SQLite or PostgreSQL at the hub).
 *
 * Deterministic: a row is its columns in name order with bytes as hex and big integers as text; a
 * table is its rows sorted, so the order a query returns them in does not matter.
 */

export type Row = Record<string, unknown>;

export type TableReader = {
  tables(): Promise<string[]> | string[];
  rows(table: string): Promise<Row[]> | Row[];
};

/**
 * What a digest leaves out, each with the reason a refused request may legitimately change it:
 * a whole table (no `columns`), or only the columns named.
 */
export type DigestExclusions = Record<string, { why: string; columns?: string[] }>;

function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return `date:${value.toISOString()}`;
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, canonical(record[key])]),
    );
  }
  return value;
}

/** `{table: "<rows>:<sha256>"}` for every table not excluded whole; equal digests, equal contents. */
export async function stateDigest(
  reader: TableReader,
  exclude: DigestExclusions = {},
): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of [...(await reader.tables())].sort()) {
    const excluded = exclude[table];
    if (excluded && !excluded.columns) continue;
    const rows = (await reader.rows(table)).map((row) => {
      const kept = { ...row };
      for (const column of excluded?.columns ?? []) delete kept[column];
      return JSON.stringify(canonical(kept));
    });
    rows.sort();
    const hash = createHash('sha256');
    for (const row of rows) hash.update(row).update('\n');
    digest[table] = `${rows.length}:${hash.digest('hex')}`;
  }
  return digest;
}
