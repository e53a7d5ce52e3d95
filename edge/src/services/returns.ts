import { createHash } from 'node:crypto';
import {
  DomainError,
  type ErrorKind,
  type ReturnDisposition,
  type ReturnReceive,
  assert,
  returnableQuantities,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import { IdempotencyStore, refusalAnswer } from './idempotency.ts';
import { type StockBook, rejectionKind } from './stock.ts';

export type ReturnDeskResponse = { status: number; body: unknown; replayed: boolean };
export const edgeReturnStatuses = ['expected', 'received', 'canceled'] as const;
export type EdgeReturnStatus = (typeof edgeReturnStatuses)[number];

type ReturnRow = {
  id: string;
  number: string;
  order_id: string;
  order_number: string;
  status: EdgeReturnStatus;
  note: string | null;
  created_ms: number;
  updated_ms: number;
};
type LineRow = { sku: string; quantity: number; restocked: number; damaged: number; missing: number };

const error = (kind: ErrorKind, code: string, message: string, details?: unknown): ReturnDeskResponse =>
  refusalAnswer(new DomainError(kind, code, message, details));

/**
 * The warehouse's side of returns: the returns the hub authorized for this warehouse (applied from
 * its channel) are expected here, and staff receive them, each unit restocked, damaged or missing,
 * with or without the hub. One receipt is one SQLite transaction holding the `return_restock` stock
 * events (restock: on hand and available; damaged: on hand and damaged; missing: no event), the
 * return's counts and the `return_received` fact queued upstream after those events, so the hub
 * replays them in that order, exactly once. More units than authorized is 409 `exceeds_authorized`
 * and changes nothing; an `Idempotency-Key` replays the first answer.
 */
export class ReturnDesk {
  readonly #db: EdgeDatabase;
  readonly #book: StockBook;
  readonly #keys: IdempotencyStore;
  readonly #sql;

  constructor(db: EdgeDatabase, book: StockBook) {
    this.#db = db;
    this.#book = book;
    this.#keys = new IdempotencyStore(db);
    this.#sql = {
      one: db.prepare<[string], ReturnRow>('SELECT * FROM return_order WHERE id = ?'),
      list: db.prepare<[string, number, number, string, number], ReturnRow>(
        `SELECT * FROM return_order WHERE status = ? AND (created_ms > ? OR (created_ms = ? AND id > ?))
         ORDER BY created_ms, id LIMIT ?`,
      ),
      lines: db.prepare<[string], LineRow>(
        'SELECT sku, quantity, restocked, damaged, missing FROM return_line WHERE return_id = ? ORDER BY sku',
      ),
      account: db.prepare(
        'UPDATE return_line SET restocked = restocked + ?, damaged = damaged + ?, missing = missing + ? WHERE return_id = ? AND sku = ?',
      ),
      setStatus: db.prepare('UPDATE return_order SET status = ?, updated_ms = ? WHERE id = ?'),
    };
  }

  list(status: EdgeReturnStatus, after: { createdMs: number; id: string } | undefined, limit: number) {
    const rows = this.#sql.list.all(status, after?.createdMs ?? -1, after?.createdMs ?? -1, after?.id ?? '', limit + 1);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => this.#present(row)),
      next:
        rows.length > limit
          ? { createdMs: page.at(-1)?.created_ms as number, id: page.at(-1)?.id as string }
          : undefined,
    };
  }

  view(id: string) {
    const row = this.#sql.one.get(id);
    return row ? this.#present(row) : undefined;
  }

  receive(
    id: string,
    request: ReturnReceive,
    actor: string,
    nowMs: number,
    idempotency?: { scope: string; key: string },
  ): ReturnDeskResponse {
    const claim = idempotency && {
      ...idempotency,
      requestHash: createHash('sha256')
        .update(`return/${id}/receive\n${JSON.stringify(request)}`)
        .digest('hex'),
    };
    try {
      return this.#db.transaction(() => {
        const replayed = claim && this.#keys.replay(claim);
        if (replayed) return replayed;
        const response = this.#receive(id, request, actor, nowMs);
        if (response.status >= 400) throw new Refused(response);
        if (claim) this.#keys.remember(claim, response, nowMs);
        return response;
      })();
    } catch (caught) {
      if (!(caught instanceof Refused)) throw caught;
      if (claim && caught.response.status < 500) this.#keys.remember(claim, caught.response, nowMs);
      return caught.response;
    }
  }

  #receive(id: string, request: ReturnReceive, actor: string, nowMs: number): ReturnDeskResponse {
    const row = this.#sql.one.get(id);
    if (!row) return error('not_found', 'unknown_return', `no return ${id} is expected at this warehouse`);
    if (row.status !== 'expected') {
      return error('conflict', 'return_not_expected', `return ${row.number} is ${row.status}`, { status: row.status });
    }
    const lines = this.#sql.lines.all(id);
    const authorized = new Map(lines.map((line) => [line.sku, line.quantity]));
    const accounted = new Map(lines.map((line) => [line.sku, line.restocked + line.damaged + line.missing]));
    const asked = new Map<string, number>();
    for (const line of request.lines) {
      if (!authorized.has(line.sku)) {
        return error('conflict', 'sku_not_in_return', `${line.sku} is not on return ${row.number}`, { sku: line.sku });
      }
      asked.set(line.sku, (asked.get(line.sku) ?? 0) + line.quantity);
    }
    const open = returnableQuantities(authorized, accounted);
    for (const [sku, quantity] of asked) {
      const may = open.get(sku) ?? 0;
      if (quantity > may) {
        return error('conflict', 'exceeds_authorized', `${sku}: ${quantity} received, ${may} still expected`, {
          sku,
          quantity,
          expected: may,
        });
      }
    }
    const events = [];
    for (const line of request.lines) {
      if (line.disposition === 'missing') continue;
      const outcome = this.#book.apply(
        {
          type: 'return_restock',
          sku: line.sku,
          quantity: line.quantity,
          rma: id,
          reference: row.number,
          condition: line.disposition === 'restock' ? 'sellable' : 'damaged',
          ...(line.bin === undefined ? {} : { bin: line.bin }),
          ...(line.serials === undefined ? {} : { serials: line.serials }),
        },
        actor,
        nowMs,
      );
      if (!outcome.ok) {
        return error(rejectionKind(outcome.reason), outcome.reason, outcome.message, {
          sku: line.sku,
          stock: outcome.stock,
        });
      }
      events.push(outcome.event);
    }
    for (const line of request.lines) {
      const units = (disposition: ReturnDisposition) => (line.disposition === disposition ? line.quantity : 0);
      this.#sql.account.run(units('restock'), units('damaged'), units('missing'), id, line.sku);
    }
    const complete = this.#sql.lines
      .all(id)
      .every((line) => line.restocked + line.damaged + line.missing === line.quantity);
    this.#sql.setStatus.run(complete ? 'received' : 'expected', nowMs, id);
    const fact = this.#book.recordReturnFact(
      {
        type: 'return_received',
        returnId: id,
        lines: request.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, disposition: line.disposition })),
      },
      actor,
      nowMs,
    );
    return { status: 201, replayed: false, body: { return: this.view(id), events, fact } };
  }

  #present(row: ReturnRow) {
    return {
      id: row.id,
      number: row.number,
      orderId: row.order_id,
      orderNumber: row.order_number,
      status: row.status,
      note: row.note,
      lines: this.#sql.lines.all(row.id).map((line) => ({
        ...line,
        expected: line.quantity - line.restocked - line.damaged - line.missing,
      })),
      createdAt: new Date(row.created_ms).toISOString(),
      updatedAt: new Date(row.updated_ms).toISOString(),
    };
  }

  /** Applied from the warehouse channel inside the checkpoint's transaction: idempotent. */
  static applyAuthorized(
    db: EdgeDatabase,
    change: {
      returnId: string;
      number: string;
      orderId: string;
      orderNumber: string;
      note: string | null;
      lines: ReadonlyArray<{ sku: string; quantity: number }>;
    },
    nowMs: number,
  ): void {
    assert(db.inTransaction, 'a return.authorized change is applied inside the checkpoint transaction');
    db.prepare(
      `INSERT INTO return_order (id, number, order_id, order_number, status, note, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, 'expected', ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(change.returnId, change.number, change.orderId, change.orderNumber, change.note, nowMs, nowMs);
    const insertLine = db.prepare(
      'INSERT INTO return_line (return_id, sku, quantity) VALUES (?, ?, ?) ON CONFLICT (return_id, sku) DO NOTHING',
    );
    for (const line of change.lines) insertLine.run(change.returnId, line.sku, line.quantity);
  }

  /** The hub withdrew a return: it is no longer expected, unless units were already received. */
  static applyCanceled(db: EdgeDatabase, returnId: string, nowMs: number): void {
    db.prepare(
      `UPDATE return_order SET status = 'canceled', updated_ms = ? WHERE id = ? AND status = 'expected'
       AND NOT EXISTS (SELECT 1 FROM return_line WHERE return_id = ? AND restocked + damaged + missing > 0)`,
    ).run(nowMs, returnId, returnId);
  }
}

class Refused extends Error {
  constructor(readonly response: ReturnDeskResponse) {
    super('refused');
  }
}
