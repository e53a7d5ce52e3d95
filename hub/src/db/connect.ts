import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCheckpointer } from '@dovetail/platform/sqlite-checkpointer';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PGliteDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.ts';
import { withStatementCache } from './statement-cache.ts';

export type StorageConfig =
  | {
      kind: 'sqlite';
      file: string;
      /** WAL checkpoints on a worker thread, off the event loop (platform/); the hub process sets it. */
      checkpointInBackground?: boolean;
    }
  | { kind: 'postgres'; url: string; schema?: string; poolSize?: number }
  | { kind: 'pglite'; schema?: string };

/** `DB` is the table map of whoever opens it (the hub's `Database`): db/ knows no feature's tables. */
export type Storage<DB = unknown> = {
  db: Kysely<DB>;
  dialect: 'sqlite' | 'postgres';
  /** Where the data lives, without credentials, for logs. */
  description: string;
  /** The PostgreSQL schema the tables live in; undefined on SQLite. */
  schema: string | undefined;
  /**
   * The raw better-sqlite3 handle Kysely runs on (SQLite only), for the synchronous group-commit
   * hold writer. It is Kysely's one connection: raw work must hold Kysely's connection mutex
   * (`db.connection().execute(...)`), never run while a Kysely transaction is open.
   */
  sqlite?: BetterSqlite3.Database;
  close(): Promise<void>;
};

/**
 * One advisory lock for schema-changing work on a PostgreSQL database: migrating and dropping a
 * schema. Kysely's migrator introspects every schema of the database before it takes its own lock,
 * and that introspection fails ("schema … does not exist") if another schema is dropped meanwhile;
 * hub instances starting together on one database also migrate one at a time under it.
 */
/** Connections are opened untyped here; `openStorage<DB>` gives them the caller's table map. */
// biome-ignore lint/suspicious/noExplicitAny: the table map is the caller's (openStorage<DB>)
type AnyTables = any;

const schemaChangeLockKey = 7_190_423_511;

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens storage and applies pending migrations. PostgreSQL returns int8 and numeric as strings;
 * every such column here is bounded well inside 2^53 (limits.ts), so they are parsed as numbers.
 */
export async function openStorage<DB>(config: StorageConfig): Promise<Storage<DB>> {
  const storage = (await connect(config)) as Storage<DB>;
  try {
    if (config.kind === 'postgres') {
      await storage.db.connection().execute(async (connection) => {
        await sql`select pg_advisory_lock(${schemaChangeLockKey})`.execute(connection);
        try {
          await migrateToLatest(connection as Kysely<unknown>, storage.schema);
        } finally {
          await sql`select pg_advisory_unlock(${schemaChangeLockKey})`.execute(connection);
        }
      });
    } else await migrateToLatest(storage.db as Kysely<unknown>, storage.schema);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

async function connect(config: StorageConfig): Promise<Storage<AnyTables>> {
  if (config.kind === 'sqlite') {
    const database = new BetterSqlite3(config.file);
    database.pragma('journal_mode = WAL');
    restrictToOwner(config.file);
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    const db = new Kysely<AnyTables>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    const checkpointer =
      config.checkpointInBackground && config.file !== ':memory:' && !config.file.startsWith('file:')
        ? startCheckpointer(database, config.file)
        : undefined;
    return {
      db,
      dialect: 'sqlite',
      description: `sqlite:${config.file}`,
      schema: undefined,
      sqlite: database,
      async close() {
        await checkpointer?.stop();
        await db.destroy();
      },
    };
  }
  if (config.kind === 'postgres') {
    const schema = config.schema;
    if (schema !== undefined && !schemaNamePattern.test(schema)) throw new Error(`bad schema name ${schema}`);
    if (schema) {
      const setup = new pg.Client({ connectionString: config.url });
      await setup.connect();
      try {
        await setup.query(`create schema if not exists ${schema}`);
      } finally {
        await setup.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID || oid === NUMERIC_OID
            ? (value: string) => Number(value)
            : pg.types.getTypeParser(oid, format)) as never,
      },
    });
    const db = new Kysely<AnyTables>({ dialect: new PostgresDialect({ pool }) });
    const url = new URL(config.url);
    return {
      db,
      dialect: 'postgres',
      description: `postgres://${url.host}${url.pathname} schema ${schema ?? 'public'}`,
      schema: schema ?? 'public',
      close: () => db.destroy(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = new PGlite({
    parsers: { [INT8_OID]: (value: string) => Number(value), [NUMERIC_OID]: (value: string) => Number(value) },
  });
  const db = new Kysely<AnyTables>({ dialect: new PGliteDialect({ pglite }) });
  if (config.schema) {
    if (!schemaNamePattern.test(config.schema)) throw new Error(`bad schema name ${config.schema}`);
    await sql.raw(`create schema if not exists ${config.schema}`).execute(db);
    await sql.raw(`set search_path to ${config.schema}`).execute(db);
  }
  return {
    db,
    dialect: 'postgres',
    description: 'pglite (in memory)',
    schema: config.schema ?? 'public',
    close: () => db.destroy(),
  };
}

/**
 * The database file and its WAL and shared-memory files: readable by the hub's user only (0600),
 * whatever the umask. SQLite creates the WAL and -shm files later with the main file's mode.
 */
function restrictToOwner(file: string): void {
  if (file === ':memory:' || file.startsWith('file:')) return;
  for (const each of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(each)) chmodSync(each, 0o600);
}

/** The default: one SQLite file in the data directory (created 0700: only the hub's user enters). */
export function sqliteConfigFor(
  dataDirectory: string,
  options: { checkpointInBackground?: boolean } = {},
): StorageConfig {
  mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  return { kind: 'sqlite', file: join(dataDirectory, 'hub.db'), ...options };
}

/** Drops a schema created for one test run (PostgreSQL only). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!schemaNamePattern.test(schema)) throw new Error(`bad schema name ${schema}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [schemaChangeLockKey]);
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
