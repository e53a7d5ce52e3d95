import type BetterSqlite3 from 'better-sqlite3';

/** Distinct SQL texts kept prepared; the hub's queries come from a few hundred builder shapes. */
const statementsCachedMax = 512;

/**
 * The handle Kysely's SQLite dialect is given: the same database, but `prepare` answers from a cache
 * keyed by SQL text (least recently used out first). Kysely prepares every statement it runs, and
 * preparing costs more than running most of the hub's queries; a builder shape compiles to the same
 * text each time, so its statement is prepared once. Safe because Kysely runs one query at a time on
 * the connection (`all` or `run`, never two iterations of one statement at once), and SQLite prepares
 * a statement again by itself when a migration changed the schema under it.
 */
export function withStatementCache(database: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string): BetterSqlite3.Statement => {
    const cached = cache.get(source);
    if (cached) {
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const statement = database.prepare(source);
    cache.set(source, statement);
    if (cache.size > statementsCachedMax) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return statement;
  };
  return new Proxy(database, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
