import { type ReserveRequest, assert } from '@dovetail/shared';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import {
  type HoldView,
  type ReserveContext,
  holdCapExceeded,
  insufficient,
  takenHoldView,
  unitsPerSku,
  unknownSku,
} from './plan.ts';

/** Holds per `dovetail_reserve_many` call: bounds the statement's JSON (~200 bytes a hold) and its lock time. */
export const holdBatchPostgresMax = 128;
/**
 * Batches on the wire at once. Measured with the bench (64 connections, one hot SKU): 1, 2 and 3 in
 * flight all gave ~5,500 holds/s (the batches serialize on the hot row anyway), so one, like sync.
 */
const batchesInFlightMax = 1;

type Pending = {
  id: string;
  request: ReserveRequest;
  context: ReserveContext;
  expiresAt: number;
  lineNos: number[];
  resolve: (view: HoldView | undefined) => void;
  reject: (error: unknown) => void;
};
type Answer = { warehouse: string | null } | { code: string; message: string };

const batchers = new WeakMap<Kysely<Database>, PostgresHoldBatcher>();

/** The batcher that takes holds on this PostgreSQL database, if the hub started one (see createHub). */
export function postgresHoldBatcherOf(db: Kysely<Database>): PostgresHoldBatcher | undefined {
  return batchers.get(db);
}

/**
 * Group commit for single-warehouse holds on PostgreSQL: holds that arrive while a batch is on the
 * wire wait for the next one, and each batch is ONE call of `dovetail_reserve_many` (db/migrations/0012_holds_many.ts):
 * one round trip, one transaction, one WAL flush and one update of each partition for all of them;
 * a hold that does not fit is refused before it writes anything. Availability is still proved under the partition's row lock by the statement that
 * takes it; nobody is answered before the statement (and so its commit) has returned. A hold with a
 * choice of warehouses resolves `undefined` and takes nothing: the caller plans it with the shared
 * strategy. Two hubs on one database each batch their own holds; the batch locks in the one global
 * order, so their batches serialize on the hot row and never deadlock.
 */
export class PostgresHoldBatcher {
  readonly id = 'postgres-hold-batcher';
  readonly #db: Kysely<Database>;
  readonly #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #idle: Array<() => void> = [];
  /**
   * The hub's default hold cap for storefront clients (`HUB_HOLD_UNITS_PER_SKU_MAX`), passed to the
   * reserve functions (db/migrations/0027_hold_caps.ts); a client's own cap applies whatever its role.
   */
  readonly holdUnitsPerSkuMax: number | undefined;

  constructor(db: Kysely<Database>, options: { holdUnitsPerSkuMax?: number | undefined } = {}) {
    this.#db = db;
    this.holdUnitsPerSkuMax = options.holdUnitsPerSkuMax;
  }

  /** Resolves with the hold once committed, `undefined` when a plan is needed; rejects with the refusal (404, 409) or the error. */
  submit(
    id: string,
    request: ReserveRequest,
    context: ReserveContext,
    expiresAt: number,
  ): Promise<HoldView | undefined> {
    const sorted = request.lines.map((line) => line.sku).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const lineNos = request.lines.map((line) => sorted.indexOf(line.sku));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, request, context, expiresAt, lineNos, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= batchesInFlightMax || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < batchesInFlightMax && this.#queue.length > 0)
        void this.#send(this.#queue.splice(0, holdBatchPostgresMax));
    });
  }

  async #send(batch: Pending[]): Promise<void> {
    this.#inFlight++;
    try {
      const holds = batch.map((pending) => ({
        id: pending.id,
        client: pending.context.clientId,
        now: pending.context.nowMs,
        expires: pending.expiresAt,
        skus: pending.request.lines.map((line) => line.sku),
        quantities: pending.request.lines.map((line) => line.quantity),
        lineNos: pending.lineNos,
        ...(this.holdUnitsPerSkuMax !== undefined ? { capDefault: this.holdUnitsPerSkuMax } : {}),
        ...(pending.request.warehouseId !== undefined ? { warehouse: pending.request.warehouseId } : {}),
      }));
      let answers: Answer[];
      try {
        const result = await sql<{
          results: Answer[] | string;
        }>`select dovetail_reserve_many(${JSON.stringify(holds)}::jsonb) as results`.execute(this.#db);
        const raw = result.rows[0]?.results;
        answers = typeof raw === 'string' ? (JSON.parse(raw) as Answer[]) : (raw ?? []);
        assert(
          answers.length === batch.length,
          `dovetail_reserve_many answered ${answers.length} of ${batch.length} holds`,
        );
      } catch (error) {
        // The statement failed as a whole: no hold of the batch exists.
        for (const pending of batch) pending.reject(error);
        return;
      }
      for (const [index, pending] of batch.entries()) this.#answer(pending, answers[index] as Answer);
    } finally {
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#queue.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #answer(pending: Pending, answer: Answer): void {
    const { request, context } = pending;
    if ('warehouse' in answer) {
      const warehouseId = answer.warehouse;
      if (warehouseId === null) pending.resolve(undefined);
      else
        pending.resolve(
          takenHoldView(
            pending.id,
            request,
            request.lines.map((line) => ({ ...line, warehouseId })),
            context.nowMs,
            pending.expiresAt,
          ),
        );
      return;
    }
    if (answer.code === 'DT404') {
      pending.reject(unknownSku(answer.message));
      return;
    }
    if (answer.code === 'DT429') {
      pending.reject(capRefusal(request, answer.message));
      return;
    }
    assert(answer.code === 'DT409', `dovetail_reserve_many refusal ${answer.code}`);
    const [index, available] = answer.message.split(':').map(Number);
    pending.reject(
      insufficient(request.lines[index as number] as ReserveRequest['lines'][number], available as number),
    );
  }

  /** Routes this database's PostgreSQL holds through the batcher (`reserveHold` finds it). */
  start(): this {
    batchers.set(this.#db, this);
    return this;
  }

  /** Resolves once every queued hold is answered; reserveHold refuses holds submitted later. */
  async close(): Promise<void> {
    if (batchers.get(this.#db) === this) batchers.delete(this.#db);
    if (this.#inFlight === 0 && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}

/** The refusal for DT429 from a reserve function (db/migrations/0027_hold_caps.ts): `held:cap:sku`. */
export function capRefusal(request: ReserveRequest, message: string) {
  const [held, cap] = message.split(':', 2).map(Number);
  const sku = message.split(':').slice(2).join(':');
  return holdCapExceeded(sku, cap as number, held as number, unitsPerSku(request.lines).get(sku) ?? 0);
}
