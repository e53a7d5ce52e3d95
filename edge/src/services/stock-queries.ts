import { type StockEvent, partitionStateSchema, stockEventSchema } from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import { type StockBook, type StockView, stockView } from './stock.ts';

export type StockListFilter = {
  skuPrefix?: string | undefined;
  bin?: string | undefined;
  unverified?: boolean | undefined;
  inStock?: boolean | undefined;
  afterSku?: string | undefined;
  limit: number;
};

export type HistoryEntry = { position: number; upstreamSeq: number | null; unverified: boolean; event: StockEvent };

type Row = { sku: string; state: string; verified: number; updated_ms: number };

/** Read side of the stock book: pages of partitions and of one partition's ledger. */
export class StockQueries {
  readonly #db: EdgeDatabase;
  readonly #warehouseId: string;
  readonly #book: StockBook;
  readonly #history;
  readonly #historyAscending;
  readonly #upstream;
  readonly #outboxHead;

  /** Reads through the stock book where it already knows the answer (a partition, its commitments). */
  constructor(db: EdgeDatabase, book: StockBook) {
    this.#book = book;
    const warehouseId = book.warehouseId;
    this.#db = db;
    this.#warehouseId = warehouseId;
    this.#history = db.prepare<
      [string, number, number],
      { position: number; upstream_seq: number | null; unverified: number; event: string }
    >(
      'SELECT position, upstream_seq, unverified, event FROM ledger WHERE sku = ? AND position < ? ORDER BY position DESC LIMIT ?',
    );
    this.#historyAscending = db.prepare<
      [string, number, number],
      { position: number; upstream_seq: number | null; unverified: number; event: string }
    >(
      'SELECT position, upstream_seq, unverified, event FROM ledger WHERE sku = ? AND position > ? ORDER BY position ASC LIMIT ?',
    );
    this.#upstream = db.prepare<[], { last_seq: number; acked_seq: number }>(
      'SELECT last_seq, acked_seq FROM upstream WHERE id = 1',
    );
    this.#outboxHead = db.prepare<[], { seq: number | null }>('SELECT min(seq) AS seq FROM outbox');
  }

  list(filter: StockListFilter): { items: StockView[]; nextSku: string | undefined } {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit + 1 };
    if (filter.skuPrefix !== undefined) {
      // Range scan on the primary key; prefix is validated to SKU characters, so no LIKE escaping needed.
      where.push('sku >= @prefixStart AND sku < @prefixEnd');
      params.prefixStart = filter.skuPrefix;
      params.prefixEnd = `${filter.skuPrefix}\u{10ffff}`;
    }
    if (filter.afterSku !== undefined) {
      where.push('sku > @afterSku');
      params.afterSku = filter.afterSku;
    }
    if (filter.unverified !== undefined) {
      where.push('verified = @verified');
      params.verified = filter.unverified ? 0 : 1;
    }
    if (filter.inStock !== undefined) where.push(filter.inStock ? 'on_hand > 0' : 'on_hand = 0');
    if (filter.bin !== undefined) {
      where.push("EXISTS (SELECT 1 FROM json_each(state, '$.bins') WHERE json_extract(value, '$[0]') = @bin)");
      params.bin = filter.bin;
    }
    const sql = `SELECT sku, state, verified, updated_ms FROM partition ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY sku LIMIT @limit`;
    const rows = this.#db.prepare<Record<string, unknown>, Row>(sql).all(params);
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((row) =>
        stockView(
          this.#warehouseId,
          row.sku,
          partitionStateSchema.parse(JSON.parse(row.state)),
          row.verified === 1,
          row.updated_ms,
          this.#book.committed(row.sku),
        ),
      ),
      nextSku: rows.length > filter.limit ? page.at(-1)?.sku : undefined,
    };
  }

  /** Newest first (what staff want to see), or oldest first for replaying a partition. */
  history(
    sku: string,
    options: { before?: number | undefined; after?: number | undefined; limit: number; order: 'asc' | 'desc' },
  ): {
    items: HistoryEntry[];
    nextPosition: number | undefined;
  } {
    const rows =
      options.order === 'desc'
        ? this.#history.all(sku, options.before ?? Number.MAX_SAFE_INTEGER, options.limit + 1)
        : this.#historyAscending.all(sku, options.after ?? 0, options.limit + 1);
    const page = rows.slice(0, options.limit);
    return {
      items: page.map((row) => ({
        position: row.position,
        upstreamSeq: row.upstream_seq,
        unverified: row.unverified === 1,
        event: stockEventSchema.parse(JSON.parse(row.event)),
      })),
      nextPosition: rows.length > options.limit ? page.at(-1)?.position : undefined,
    };
  }

  upstream(): { lastSeq: number; ackedSeq: number; pending: number; oldestPendingSeq: number | null } {
    const row = this.#upstream.get();
    const head = this.#outboxHead.get();
    const lastSeq = row?.last_seq ?? 0;
    const ackedSeq = row?.acked_seq ?? 0;
    return { lastSeq, ackedSeq, pending: lastSeq - ackedSeq, oldestPendingSeq: head?.seq ?? null };
  }
}
