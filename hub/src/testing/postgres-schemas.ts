import pg from 'pg';
import { dropPostgresSchema, openStorage } from '../db/connect.ts';

/**
 * The PostgreSQL schemas of one test file, each migrated once and reused: a disposed hub's schema is
 * emptied (every table truncated, the rows the migrations themselves wrote put back) and handed to
 * the next hub, so a file pays for the migrations once per hub alive at a time, not once per test.
 * Every schema the file created is dropped when the file ends (`testing/vitest-setup.ts`).
 */
type PooledSchema = { url: string; name: string; seeded: { table: string; rowsJson: string }[] };

const idle: PooledSchema[] = [];
const created: { url: string; name: string }[] = [];

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function tablesOf(client: pg.Client, schema: string): Promise<string[]> {
  const result = await client.query<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = $1 and table_type = 'BASE TABLE' and table_name not like 'kysely\\_%'
      order by table_name`,
    [schema],
  );
  return result.rows.map((row) => row.table_name);
}

/** A migrated, empty schema: an idle one emptied, else a new one migrated now. */
export async function takeTestSchema(url: string, newName: () => string): Promise<PooledSchema> {
  const index = idle.findIndex((schema) => schema.url === url);
  if (index >= 0) {
    const [schema] = idle.splice(index, 1);
    await emptySchema(schema!);
    return schema!;
  }
  const name = newName();
  created.push({ url, name });
  const storage = await openStorage({ kind: 'postgres', url, schema: name, poolSize: 1 });
  await storage.close();
  const seeded = await withClient(url, async (client) => {
    const rows: PooledSchema['seeded'] = [];
    for (const table of await tablesOf(client, name)) {
      const result = await client.query<{ rows: string | null }>(
        `select json_agg(t)::text as rows from ${quote(name)}.${quote(table)} t`,
      );
      const rowsJson = result.rows[0]?.rows;
      if (rowsJson) rows.push({ table, rowsJson });
    }
    return rows;
  });
  return { url, name, seeded };
}

async function emptySchema(schema: PooledSchema): Promise<void> {
  await withClient(schema.url, async (client) => {
    const tables = await tablesOf(client, schema.name);
    if (tables.length === 0) return;
    const qualified = (table: string) => `${quote(schema.name)}.${quote(table)}`;
    await client.query('begin');
    await client.query(`truncate ${tables.map(qualified).join(', ')} restart identity cascade`);
    for (const { table, rowsJson } of schema.seeded) {
      await client.query(
        `insert into ${qualified(table)} select * from json_populate_recordset(null::${qualified(table)}, $1::json)`,
        [rowsJson],
      );
    }
    await client.query('commit');
  });
}

/** Hands a schema back once the hub using it has closed. */
export function releaseTestSchema(schema: PooledSchema): void {
  idle.push(schema);
}

/** Drops every schema this file created. */
export async function dropTestSchemas(): Promise<void> {
  idle.length = 0;
  const all = created.splice(0);
  for (const { url, name } of all) await dropPostgresSchema(url, name);
}
