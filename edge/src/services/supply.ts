import { DomainError, conflict, type KnownDownstreamChange, type SupplyKind, supplyReference } from '@dovetail/shared';
import { supplyReceiptCondition } from '../db/migrations.ts';
import type { EdgeDatabase } from '../db/open.ts';
import { type IdempotencyClaim, IdempotencyStore, type StoredAnswer } from './idempotency.ts';

/** Units received of a SKU against one supply reference: through `ledger_receipts` (its condition repeated). */
export const receivedAgainstSupplySql = `SELECT sum(json_extract(event, '$.quantity')) AS received FROM ledger
  WHERE ${supplyReceiptCondition} AND json_extract(event, '$.reference') = ? AND sku = ?`;

type Payload<Kind extends KnownDownstreamChange['kind']> = Extract<KnownDownstreamChange, { kind: Kind }>['payload'];

export type SupplyLineView = { sku: string; quantity: number; received: number; configuration?: unknown };
export type SupplyView = {
  id: string;
  kind: SupplyKind;
  status: 'open' | 'received' | 'canceled';
  supplier: string | null;
  orderId: string | null;
  orderNumber: string | null;
  dueAt: string;
  /** What a receive against it carries as its `reference` (the hub matches it). */
  reference: string;
  lines: SupplyLineView[];
};

type RequestRow = {
  id: string;
  kind: SupplyKind;
  status: 'open' | 'canceled';
  supplier: string | null;
  order_id: string | null;
  order_number: string | null;
  due_ms: number;
};

/**
 * Purchase orders and production requests the hub announced for this warehouse (docs/catalog.md,
 * "Pre-orders and made-to-order"): the replica staff receive against. A receipt is an ordinary
 * `receive` stock event whose reference names the request (`po:<id>`, `production:<id>`), recorded
 * through the stock writer like any scan, so it works with the hub link down and travels upstream in
 * the one stream; what was received is read back from the ledger.
 */
export class SupplyDesk {
  readonly #db: EdgeDatabase;
  readonly #keys: IdempotencyStore;
  constructor(db: EdgeDatabase) {
    this.#db = db;
    this.#keys = new IdempotencyStore(db);
  }

  /** The answer a receipt sent again under its Idempotency-Key already got: replayed before any check. */
  replay(claim: IdempotencyClaim): StoredAnswer | undefined {
    return this.#keys.replay(claim);
  }

  /** `purchase_order.opened` (idempotent). */
  static applyPurchaseOrder(db: EdgeDatabase, payload: Payload<'purchase_order.opened'>, nowMs: number): void {
    db.prepare(
      `INSERT INTO supply_request (id, kind, status, supplier, order_id, order_number, due_ms, created_ms, updated_ms)
       VALUES (?, 'purchase_order', 'open', ?, NULL, NULL, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(payload.purchaseOrderId, payload.supplier, payload.expectedAt, nowMs, nowMs);
    const line = db.prepare(
      'INSERT INTO supply_line (request_id, sku, quantity, configuration) VALUES (?, ?, ?, NULL) ON CONFLICT DO NOTHING',
    );
    for (const entry of payload.lines) line.run(payload.purchaseOrderId, entry.sku, entry.quantity);
  }

  /** `production.requested` (idempotent). */
  static applyProduction(db: EdgeDatabase, payload: Payload<'production.requested'>, nowMs: number): void {
    db.prepare(
      `INSERT INTO supply_request (id, kind, status, supplier, order_id, order_number, due_ms, created_ms, updated_ms)
       VALUES (?, 'production', 'open', NULL, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(payload.productionId, payload.orderId, payload.orderNumber, payload.dueAt, nowMs, nowMs);
    db.prepare(
      'INSERT INTO supply_line (request_id, sku, quantity, configuration) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ).run(
      payload.productionId,
      payload.sku,
      payload.quantity,
      payload.configuration ? JSON.stringify(payload.configuration) : null,
    );
  }

  /** `purchase_order.canceled`, `production.canceled`. */
  static applyCanceled(db: EdgeDatabase, id: string, nowMs: number): void {
    db.prepare("UPDATE supply_request SET status = 'canceled', updated_ms = ? WHERE id = ?").run(nowMs, id);
  }

  #received(kind: SupplyKind, id: string, sku: string): number {
    const row = this.#db
      .prepare<[string, string], { received: number | null }>(receivedAgainstSupplySql)
      .get(supplyReference(kind, id), sku);
    return Number(row?.received ?? 0);
  }

  #view(row: RequestRow): SupplyView {
    const lines = this.#db
      .prepare<[string], { sku: string; quantity: number; configuration: string | null }>(
        'SELECT sku, quantity, configuration FROM supply_line WHERE request_id = ? ORDER BY sku',
      )
      .all(row.id)
      .map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        received: this.#received(row.kind, row.id, line.sku),
        ...(line.configuration ? { configuration: JSON.parse(line.configuration) as unknown } : {}),
      }));
    const complete = lines.every((line) => line.received >= line.quantity);
    return {
      id: row.id,
      kind: row.kind,
      status: row.status === 'canceled' ? 'canceled' : complete ? 'received' : 'open',
      supplier: row.supplier,
      orderId: row.order_id,
      orderNumber: row.order_number,
      dueAt: new Date(row.due_ms).toISOString(),
      reference: supplyReference(row.kind, row.id),
      lines,
    };
  }

  /** Open ones first due first, or every one of `kind` (`all`). */
  list(kind: SupplyKind, status: 'open' | 'all', limit: number): SupplyView[] {
    const rows = this.#db
      .prepare<[string, number], RequestRow>(
        `SELECT * FROM supply_request WHERE kind = ? ${status === 'open' ? "AND status = 'open'" : ''}
         ORDER BY due_ms, id LIMIT ?`,
      )
      .all(kind, limit * 4);
    return rows
      .map((row) => this.#view(row))
      .filter((view) => status === 'all' || view.status === 'open')
      .slice(0, limit);
  }

  view(kind: SupplyKind, id: string): SupplyView | undefined {
    const row = this.#db
      .prepare<[string, string], RequestRow>('SELECT * FROM supply_request WHERE id = ? AND kind = ?')
      .get(id, kind);
    return row ? this.#view(row) : undefined;
  }

  /**
   * What a receive against `id` must satisfy before it is recorded: the request is known here and
   * open, names the SKU, and the units do not exceed what is still expected (more is an ordinary
   * receive). Answers the reference the receive carries.
   */
  checkReceipt(kind: SupplyKind, id: string, sku: string, quantity: number): string {
    const view = this.view(kind, id);
    const noun = kind === 'purchase_order' ? 'purchase order' : 'production request';
    if (!view) throw new DomainError('not_found', 'unknown_supply', `no such ${noun} is expected at this warehouse`);
    if (view.status === 'canceled') throw conflict('supply_canceled', `this ${noun} was canceled`, { id });
    const line = view.lines.find((entry) => entry.sku === sku);
    if (!line) throw conflict('sku_not_on_supply', `${sku} is not on this ${noun}`, { id, sku });
    if (line.received + quantity > line.quantity)
      throw conflict(
        'over_receipt',
        `only ${line.quantity - line.received} of ${sku} are still expected on this ${noun}; receive the rest as ordinary stock`,
        { id, sku, expected: line.quantity - line.received, quantity },
      );
    return view.reference;
  }
}
