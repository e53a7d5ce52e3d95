import { type Expression, type Kysely, PostgresAdapter, type SqlBool, sql } from 'kysely';
import type { Database } from '../database.ts';

/** Words of a search beyond this many are ignored: each is one more index probe. */
export const searchTermsMax = 8;

/**
 * The words of a catalog search (`q`): runs of letters and digits, lower case, duplicates dropped.
 * "Oslo 3-seat" → oslo, 3, seat. Punctuation never reaches a query language.
 */
export function searchTerms(text: string): string[] {
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, searchTermsMax);
}

/**
 * Products whose name or description has a word starting with every term (migration 0031's index:
 * FTS5 on SQLite, a GIN text-search index on PostgreSQL). "sof bouc" finds "Oslo sofa, bouclé".
 * No terms (a search of only punctuation) matches nothing.
 */
export function matchesSearch(db: Kysely<Database>, text: string): Expression<SqlBool> {
  const terms = searchTerms(text);
  if (terms.length === 0) return sql<SqlBool>`1 = 0`;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // The same expression as the index, so the planner can use it.
    const query = terms.map((term) => `${term}:*`).join(' & ');
    return sql<SqlBool>`to_tsvector('simple', name || ' ' || coalesce(description, '')) @@ to_tsquery('simple', ${query})`;
  }
  const query = terms.map((term) => `"${term}"*`).join(' ');
  return sql<SqlBool>`id in (select s.product_id from products_fts f join product_search s on s.rowid = f.rowid
    where products_fts match ${query})`;
}
