import { createHash } from 'node:crypto';
import {
  answerCancel,
  answerRelease,
  assert,
  checkPack,
  checkPick,
  checkShip,
  committingFulfillmentStatuses,
  DomainError,
  type EdgeFulfillment,
  type EdgeFulfillmentStatus,
  type ErrorKind,
  type FulfillmentCheck,
  type IdSource,
  type PackRequest,
  type PickRequest,
  type ShipRequest,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import { IdempotencyStore, refusalAnswer } from './idempotency.ts';
import { rejectionKind, type StockBook } from './stock.ts';

export type DeskResponse = { status: number; body: unknown; replayed: boolean };

type OrderRow = {
  id: string;
  order_id: string;
  order_number: string;
  status: EdgeFulfillmentStatus;
  cancel_requested: number;
  ship_to: string;
  picks: number;
  packages: string | null;
  shipment: string | null;
  created_ms: number;
  updated_ms: number;
};
type LineRow = { sku: string; quantity: number; picked: number; configuration: string | null };

/** The buyer's configuration of a line (fabric, width…), when the hub sent one. */
const configurationOf = (line: LineRow) =>
  line.configuration === null
    ? {}
    : { configuration: JSON.parse(line.configuration) as Record<string, string | number> };
type PickRow = { position: number; sku: string; quantity: number; lot: string | null; serials: string | null };

const error = (kind: ErrorKind, code: string, message: string, details?: unknown): DeskResponse =>
  refusalAnswer(new DomainError(kind, code, message, details));

function refused(check: Exclude<FulfillmentCheck, { ok: true }>): DeskResponse {
  return error(check.reason === 'too_many_picks' ? 'unprocessable' : 'conflict', check.reason, check.message);
}

/**
 * The warehouse's side of fulfillment: pick, pack and ship the fulfillment orders the hub
 * sent, and answer the hub's cancel and release requests. Every action is one SQLite transaction
 * that changes the order, records the stock events it causes (pick, unpick, ship) through the stock
 * book, and queues the facts the hub needs upstream; the rules are `shared/domain/fulfillment`.
 * Staff actions take an `Idempotency-Key` like scans do, so a scanner retrying after a lost answer
 * does not pick twice.
 */
export class FulfillmentDesk {
  readonly #db: EdgeDatabase;
  readonly #book: StockBook;
  readonly #newId: IdSource;
  readonly #keys: IdempotencyStore;
  readonly #sql;

  constructor(db: EdgeDatabase, book: StockBook, options: { newId: IdSource }) {
    this.#db = db;
    this.#book = book;
    this.#newId = options.newId;
    this.#keys = new IdempotencyStore(db);
    this.#sql = {
      order: db.prepare<[string], OrderRow>('SELECT * FROM fulfillment_order WHERE id = ?'),
      list: db.prepare<[string, number, number, number, number, string, number], OrderRow>(
        `SELECT * FROM fulfillment_order
         WHERE status IN (SELECT value FROM json_each(?)) AND (? = -1 OR cancel_requested = ?)
           AND (created_ms > ? OR (created_ms = ? AND id > ?)) ORDER BY created_ms, id LIMIT ?`,
      ),
      lines: db.prepare<[string], LineRow>(
        'SELECT sku, quantity, picked, configuration FROM fulfillment_line WHERE fulfillment_id = ? ORDER BY sku',
      ),
      picks: db.prepare<[string], PickRow>(
        'SELECT position, sku, quantity, lot, serials FROM fulfillment_pick WHERE fulfillment_id = ? ORDER BY position',
      ),
      addPicked: db.prepare('UPDATE fulfillment_line SET picked = picked + ? WHERE fulfillment_id = ? AND sku = ?'),
      release: db.prepare('UPDATE fulfillment_line SET quantity = quantity - ? WHERE fulfillment_id = ? AND sku = ?'),
      insertPick: db.prepare(
        'INSERT INTO fulfillment_pick (fulfillment_id, position, sku, quantity, lot, serials) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setStatus: db.prepare('UPDATE fulfillment_order SET status = ?, updated_ms = ? WHERE id = ?'),
      countPick: db.prepare(
        "UPDATE fulfillment_order SET picks = picks + 1, status = 'picking', updated_ms = ? WHERE id = ?",
      ),
      setPacked: db.prepare(
        "UPDATE fulfillment_order SET status = 'packed', packages = ?, updated_ms = ? WHERE id = ?",
      ),
      setShipped: db.prepare(
        "UPDATE fulfillment_order SET status = 'shipped', shipment = ?, updated_ms = ? WHERE id = ?",
      ),
      factOf: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM fulfillment_event WHERE fulfillment_id = ? AND type = ?',
      ),
      markCancelRequested: db.prepare('UPDATE fulfillment_order SET cancel_requested = 1, updated_ms = ? WHERE id = ?'),
    };
  }

  /**
   * The pick list: fulfillment orders in a status, oldest first, each line with the bins that hold
   * the SKU (largest first) so a picker knows where to walk.
   */
  list(
    filter: { status: 'active' | EdgeFulfillmentStatus; cancelRequested?: boolean | undefined },
    after: { createdMs: number; id: string } | undefined,
    limit: number,
  ) {
    const statuses = filter.status === 'active' ? [...committingFulfillmentStatuses] : [filter.status];
    const cancel = filter.cancelRequested === undefined ? -1 : filter.cancelRequested ? 1 : 0;
    const rows = this.#sql.list.all(
      JSON.stringify(statuses),
      cancel,
      cancel,
      after?.createdMs ?? -1,
      after?.createdMs ?? -1,
      after?.id ?? '',
      limit + 1,
    );
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => ({
        id: row.id,
        orderId: row.order_id,
        orderNumber: row.order_number,
        status: row.status,
        cancelRequested: row.cancel_requested === 1,
        shipTo: JSON.parse(row.ship_to) as unknown,
        createdAt: new Date(row.created_ms).toISOString(),
        lines: this.#sql.lines.all(row.id).map((line) => {
          const { bins } = this.#book.read(line.sku).state;
          return {
            sku: line.sku,
            quantity: line.quantity,
            picked: line.picked,
            ...configurationOf(line),
            pickFrom: [...bins].sort((a, b) => b[1] - a[1]).map(([bin, quantity]) => ({ bin, quantity })),
          };
        }),
      })),
      next:
        rows.length > limit
          ? { createdMs: page.at(-1)?.created_ms as number, id: page.at(-1)?.id as string }
          : undefined,
    };
  }

  /** One fulfillment order as staff see it: lines with what is picked, packages, shipment. */
  view(id: string) {
    const row = this.#sql.order.get(id);
    if (!row) return undefined;
    return {
      id: row.id,
      orderId: row.order_id,
      orderNumber: row.order_number,
      status: row.status,
      cancelRequested: row.cancel_requested === 1,
      shipTo: JSON.parse(row.ship_to) as unknown,
      lines: this.#sql.lines
        .all(id)
        .map((line) => ({ sku: line.sku, quantity: line.quantity, picked: line.picked, ...configurationOf(line) })),
      packages: row.packages ? (JSON.parse(row.packages) as unknown) : null,
      shipment: row.shipment ? (JSON.parse(row.shipment) as unknown) : null,
      createdAt: new Date(row.created_ms).toISOString(),
      updatedAt: new Date(row.updated_ms).toISOString(),
    };
  }

  pick(id: string, request: PickRequest, actor: string, nowMs: number, idempotency?: Idempotency): DeskResponse {
    return this.#once('pick', id, request, idempotency, nowMs, () => {
      const loaded = this.#load(id);
      if (!loaded) return notFound(id);
      const check = checkPick(loaded.fulfillment, request.sku, request.quantity);
      if (!check.ok) return refused(check);
      const outcome = this.#book.apply(
        {
          type: 'pick',
          sku: request.sku,
          quantity: request.quantity,
          fulfillmentId: id,
          reference: loaded.row.order_number,
          ...(request.bin === undefined ? {} : { bin: request.bin }),
          ...(request.lot === undefined ? {} : { lot: request.lot }),
          ...(request.serials === undefined ? {} : { serials: request.serials }),
          ...(request.note === undefined ? {} : { note: request.note }),
        },
        actor,
        nowMs,
      );
      if (!outcome.ok)
        return error(rejectionKind(outcome.reason), outcome.reason, outcome.message, {
          sku: request.sku,
          stock: outcome.stock,
        });
      this.#sql.addPicked.run(request.quantity, id, request.sku);
      this.#sql.insertPick.run(
        id,
        loaded.row.picks + 1,
        request.sku,
        request.quantity,
        request.lot ?? null,
        request.serials ? JSON.stringify(request.serials) : null,
      );
      this.#sql.countPick.run(nowMs, id);
      return { status: 201, replayed: false, body: { fulfillment: this.view(id), event: outcome.event } };
    });
  }

  pack(id: string, request: PackRequest, actor: string, nowMs: number, idempotency?: Idempotency): DeskResponse {
    return this.#once('pack', id, request, idempotency, nowMs, () => {
      const loaded = this.#load(id);
      if (!loaded) return notFound(id);
      const check = checkPack(loaded.fulfillment);
      if (!check.ok) return refused(check);
      this.#sql.setPacked.run(JSON.stringify(request.packages), nowMs, id);
      const fact = this.#book.recordFact(
        { type: 'fulfillment_packed', fulfillmentId: id, packages: request.packages },
        actor,
        nowMs,
      );
      return { status: 201, replayed: false, body: { fulfillment: this.view(id), fact } };
    });
  }

  /**
   * Hands the packed parcels to a carrier: one `ship` stock event per pick (naming its lot and
   * serials, so the partition releases exactly those units), then the `fulfillment_shipped` fact.
   * The stock events precede the fact in the stream, so the hub takes units off `on_hand` before it
   * takes them out of `committed`: available never rises in between.
   */
  ship(id: string, request: ShipRequest, actor: string, nowMs: number, idempotency?: Idempotency): DeskResponse {
    return this.#once('ship', id, request, idempotency, nowMs, () => {
      const loaded = this.#load(id);
      if (!loaded) return notFound(id);
      const check = checkShip(loaded.fulfillment);
      if (!check.ok) return refused(check);
      for (const pick of this.#sql.picks.all(id)) {
        const outcome = this.#book.apply(
          {
            type: 'ship',
            sku: pick.sku,
            quantity: pick.quantity,
            fulfillmentId: id,
            reference: loaded.row.order_number,
            ...(pick.lot === null ? {} : { lot: pick.lot }),
            ...(pick.serials === null ? {} : { serials: JSON.parse(pick.serials) as string[] }),
          },
          actor,
          nowMs,
        );
        // A count since picking found fewer units than were staged: nothing ships, staff re-pick.
        if (!outcome.ok)
          throw new Refused(
            error('conflict', outcome.reason, `cannot ship ${pick.sku}: ${outcome.message}`, {
              sku: pick.sku,
              stock: outcome.stock,
            }),
          );
      }
      const shipmentId = this.#newId();
      const lines = loaded.fulfillment.lines
        .filter((line) => line.quantity > 0)
        .map((line) => ({ sku: line.sku, quantity: line.quantity }));
      this.#sql.setShipped.run(
        JSON.stringify({ shipmentId, carrier: request.carrier, trackingNumber: request.trackingNumber }),
        nowMs,
        id,
      );
      const fact = this.#book.recordFact(
        {
          type: 'fulfillment_shipped',
          fulfillmentId: id,
          shipmentId,
          carrier: request.carrier,
          trackingNumber: request.trackingNumber,
          lines,
        },
        actor,
        nowMs,
      );
      return { status: 201, replayed: false, body: { fulfillment: this.view(id), fact } };
    });
  }

  /**
   * The hub asks to cancel (applied from the warehouse channel, inside the checkpoint's transaction).
   * Not shipped: picked units go back on a shelf, the order is canceled, the commitment released.
   * Shipped: refused, and the hub turns the order into a return. Asked twice: answered once.
   */
  answerCancel(id: string, nowMs: number): 'accepted' | 'refused' | 'already' | 'unknown' {
    assert(this.#db.inTransaction, 'answerCancel runs inside the checkpoint transaction');
    const loaded = this.#load(id);
    if (!loaded) return 'unknown';
    this.#sql.markCancelRequested.run(nowMs, id);
    const answer = answerCancel(loaded.fulfillment);
    if (answer.accept === 'already') return 'already';
    if (answer.accept === false) {
      if (!this.#answered(id, 'fulfillment_cancel_refused')) {
        this.#book.recordFact(
          { type: 'fulfillment_cancel_refused', fulfillmentId: id, reason: answer.reason },
          'hub-request',
          nowMs,
        );
      }
      return 'refused';
    }
    for (const line of answer.unpick) {
      const outcome = this.#book.apply(
        {
          type: 'unpick',
          sku: line.sku,
          quantity: line.quantity,
          fulfillmentId: id,
          reference: loaded.row.order_number,
          note: 'order canceled',
        },
        'hub-request',
        nowMs,
      );
      // A count since picking may have found fewer staged units: what is still staged goes back.
      if (!outcome.ok) {
        const staged = this.#book.read(line.sku).state.picked;
        if (staged > 0) {
          this.#book.apply(
            {
              type: 'unpick',
              sku: line.sku,
              quantity: Math.min(staged, line.quantity),
              fulfillmentId: id,
              reference: loaded.row.order_number,
              note: 'order canceled',
            },
            'hub-request',
            nowMs,
          );
        }
      }
    }
    this.#sql.setStatus.run('canceled', nowMs, id);
    this.#book.recordFact(
      { type: 'fulfillment_canceled', fulfillmentId: id, lines: answer.released },
      'hub-request',
      nowMs,
    );
    return 'accepted';
  }

  /** The hub asks to release units (shortage re-routing): releases what is neither picked nor packed. */
  answerRelease(
    id: string,
    requestId: string,
    lines: ReadonlyArray<{ sku: string; quantity: number }>,
    nowMs: number,
  ): 'answered' | 'unknown' {
    assert(this.#db.inTransaction, 'answerRelease runs inside the checkpoint transaction');
    const loaded = this.#load(id);
    if (!loaded) return 'unknown';
    const released = answerRelease(loaded.fulfillment, lines);
    for (const line of released) if (line.quantity > 0) this.#sql.release.run(line.quantity, id, line.sku);
    const left = this.#sql.lines.all(id);
    if (loaded.fulfillment.status === 'open' && left.every((line) => line.quantity === 0))
      this.#sql.setStatus.run('canceled', nowMs, id);
    this.#book.recordFact(
      { type: 'fulfillment_released', fulfillmentId: id, requestId, lines: released },
      'hub-request',
      nowMs,
    );
    return 'answered';
  }

  #answered(id: string, type: string): boolean {
    return this.#sql.factOf.get(id, type) !== undefined;
  }

  #load(id: string): { row: OrderRow; fulfillment: EdgeFulfillment } | undefined {
    const row = this.#sql.order.get(id);
    if (!row) return undefined;
    return { row, fulfillment: { status: row.status, picks: row.picks, lines: this.#sql.lines.all(id) } };
  }

  /** Runs a staff action in one transaction, storing and replaying its answer under an Idempotency-Key. */
  #once(
    action: string,
    id: string,
    request: unknown,
    idempotency: Idempotency | undefined,
    nowMs: number,
    run: () => DeskResponse,
  ): DeskResponse {
    const claim = idempotency && {
      ...idempotency,
      requestHash: createHash('sha256')
        .update(`fulfillment/${id}/${action}\n${JSON.stringify(request)}`)
        .digest('hex'),
    };
    try {
      return this.#db.transaction(() => {
        const replayed = claim && this.#keys.replay(claim);
        if (replayed) return replayed;
        const response = run();
        // A refusal must change nothing: roll back whatever the action wrote before it was refused.
        if (response.status >= 400) throw new Refused(response);
        if (claim) this.#keys.remember(claim, response, nowMs);
        return response;
      })();
    } catch (caught) {
      if (!(caught instanceof Refused)) throw caught;
      // Refusals are answered the same way again, like scans (stored outside the rolled-back work).
      if (claim && caught.response.status < 500) this.#keys.remember(claim, caught.response, nowMs);
      return caught.response;
    }
  }
}

export type Idempotency = { scope: string; key: string };

/** Unwinds a transaction whose action was refused after it had started writing. */
class Refused extends Error {
  constructor(readonly response: DeskResponse) {
    super('refused');
  }
}

function notFound(id: string): DeskResponse {
  return error(
    'not_found',
    'unknown_fulfillment',
    `no fulfillment order ${id} at this warehouse; refresh the pick list`,
  );
}
