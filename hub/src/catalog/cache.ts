import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

/** Entries one hub keeps (products and list pages); the oldest goes first past it. */
const entriesMax = 2_000;
/** A backstop: an entry is read again after this long even if no invalidation arrived (a lost NOTIFY). */
const entryTtlMs = 30_000;

/**
 * The catalog's in-process read cache (docs/catalog.md). Every catalog write on this instance clears
 * it once its transaction committed; on PostgreSQL every instance also clears it when the write's
 * `pg_notify` on the downstream channel arrives (hub.ts listens), so a write on one instance makes
 * the next read on every instance fresh. A read that began before an invalidation never stores its
 * (possibly stale) result: entries are stored only if the generation did not move meanwhile.
 */
export class CatalogCache {
  #generation = 0;
  readonly #entries = new Map<string, { value: unknown; storedAt: number }>();
  #hits = 0;
  #misses = 0;

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry && performance.now() - entry.storedAt < entryTtlMs) {
      this.#hits++;
      return entry.value as T;
    }
    this.#misses++;
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation) {
      if (this.#entries.size >= entriesMax) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      this.#entries.set(key, { value, storedAt: performance.now() });
    }
    return value;
  }

  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
  }

  stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size };
  }
}

const caches = new WeakMap<Kysely<Database>, CatalogCache>();

/** The cache of the catalog stored in `db` (one per hub instance: each has its own handle). */
export function catalogCacheOf(db: Kysely<Database>): CatalogCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new CatalogCache();
    caches.set(db, cache);
  }
  return cache;
}
