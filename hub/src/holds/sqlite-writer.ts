import { DomainError } from '@dovetail/shared';
import { type ReserveRequest, assert, limits, newId } from '@dovetail/shared';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { freeUnits } from '../db/available.ts';
import type { Database } from '../database.ts';
import {
  type AvailabilityRow,
  type HoldView,
  type Line,
  LineDoesNotFit,
  type ReserveContext,
  compareLockOrder,
  holdCapExceeded,
  holdExpiresAt,
  insufficient,
  planLines,
  takenHoldView,
  unitsPerSku,
  unknownSku,
} from './plan.ts';

type Job = { request: ReserveRequest; context: ReserveContext };
type Pending = Job & { resolve: (view: HoldView) => void; reject: (error: unknown) => void };
type Outcome = { ok: true; view: HoldView } | { ok: false; error: unknown };

export type HoldBatchObserver = (batch: { size: number; taken: number; durationMs: number }) => void;

const writers = new WeakMap<Kysely<Database>, SqliteHoldWriter>();

/** The writer that takes holds on this SQLite database, if the hub started one (see createHub). */
export function sqliteHoldWriterOf(db: Kysely<Database>): SqliteHoldWriter | undefined {
  return writers.get(db);
}

/**
 * Group commit for checkout holds on SQLite (as the edge's StockWriter does for scans): holds that
 * arrive in the same event-loop turn are taken in ONE `BEGIN IMMEDIATE … COMMIT`, so one WAL fsync
 * makes the whole batch durable. Each hold runs synchronously on raw prepared statements — catalog
 * check, availability read, the shared allocation strategy, then the conditional updates that prove
 * `available ≥ quantity` — inside its own savepoint: a refused hold (404/409) or one whose code throws
 * rolls back alone and the others commit. Nobody is answered before the batch's COMMIT has returned.
 *
 * The better-sqlite3 handle is shared with Kysely. A Kysely transaction spans awaits, so raw
 * statements run in the middle of one would join it (or fail on BEGIN). Each batch therefore runs
 * inside `db.connection().execute(...)`: Kysely's RuntimeDriver holds its single-connection mutex for
 * the callback, so no Kysely transaction (nor query) is open while the synchronous batch runs, and
 * none starts before it has committed. The callback never awaits, so the mutex is held only while it
 * works.
 */
export class SqliteHoldWriter {
  readonly id = 'sqlite-hold-writer';
  /** The default hold cap for storefront clients (`HUB_HOLD_UNITS_PER_SKU_MAX`); pre-order holds apply it too. */
  readonly holdUnitsPerSkuMax: number | undefined;
  readonly #db: Kysely<Database>;
  readonly #sqlite: BetterSqlite3.Database;
  readonly #observe: HoldBatchObserver | undefined;
  readonly #queue: Pending[] = [];
  readonly #runBatch: BetterSqlite3.Transaction<(jobs: Pending[]) => Outcome[]>;
  readonly #availability: BetterSqlite3.Statement<
    { sku: string; warehouse: string | null; now: number },
    AvailabilityRow
  >;
  #flushing: Promise<void> | undefined;
  #closed = false;

  /**
   * `holdUnitsPerSkuMax`: the hub's default hold cap for storefront clients (`HUB_HOLD_UNITS_PER_SKU_MAX`);
   * a client's own cap (api_clients.hold_units_per_sku_max) applies whatever its role. Undefined: no default.
   */
  constructor(
    db: Kysely<Database>,
    sqlite: BetterSqlite3.Database,
    options: { observe?: HoldBatchObserver; holdUnitsPerSkuMax?: number | undefined } = {},
  ) {
    this.#db = db;
    this.#sqlite = sqlite;
    this.#observe = options.observe;
    this.holdUnitsPerSkuMax = options.holdUnitsPerSkuMax;

    const variantExists = sqlite.prepare<[string], { found: number }>('SELECT 1 AS found FROM variants WHERE sku = ?');
    // Expired lines still inside the counter do not count: readers subtract them at read time.
    this.#availability = sqlite.prepare<{ sku: string; warehouse: string | null; now: number }, AvailabilityRow>(`
      SELECT p.warehouse_id, p.sku, w.kind, w.lat, w.lon,
        ${freeUnits('p')}
        + coalesce((SELECT sum(h.quantity) FROM hold_lines h
            WHERE h.warehouse_id = p.warehouse_id AND h.sku = p.sku AND h.counted = 1 AND h.expires_at <= @now), 0) AS available
      FROM stock_partitions p JOIN warehouses w ON w.id = p.warehouse_id
      WHERE p.sku = @sku AND (@warehouse IS NULL OR p.warehouse_id = @warehouse)`);
    const uncountExpired = sqlite.prepare<[string, string, number], { quantity: number }>(
      'UPDATE hold_lines SET counted = 0 WHERE warehouse_id = ? AND sku = ? AND counted = 1 AND expires_at <= ? RETURNING quantity',
    );
    const settleCounter = sqlite.prepare<[number, string, string]>(
      'UPDATE stock_partitions SET reserved = reserved - ? WHERE warehouse_id = ? AND sku = ?',
    );
    const take = sqlite.prepare<{ quantity: number; warehouse: string; sku: string }>(`
      UPDATE stock_partitions SET reserved = reserved + @quantity
      WHERE warehouse_id = @warehouse AND sku = @sku
        AND ${freeUnits('')} >= @quantity`);
    const insertHold = sqlite.prepare<[string, string, number, number]>(
      "INSERT INTO holds (id, client_id, status, expires_at, created_at, released_at) VALUES (?, ?, 'active', ?, ?, NULL)",
    );
    const insertLine = sqlite.prepare<[string, string, number, string, string, number, number]>(
      'INSERT INTO hold_lines (hold_id, client_id, line_no, warehouse_id, sku, quantity, expires_at, counted) VALUES (?, ?, ?, ?, ?, ?, ?, 1)',
    );
    // The hold cap (docs/operations.md, "Hold cap"): the client's own, else the default for storefront clients.
    const capDefault = options.holdUnitsPerSkuMax ?? null;
    const capOf = sqlite.prepare<{ client: string; fallback: number | null }, { cap: number | null }>(
      "SELECT coalesce(hold_units_per_sku_max, CASE WHEN role = 'storefront' THEN @fallback END) AS cap FROM api_clients WHERE id = @client",
    );
    // The client's counted units of the SKU (one row, kept by 0033's triggers) less its lines that
    // expired but are not settled yet (a short range of the hold_lines_client index, 0027).
    const heldOf = sqlite.prepare<{ client: string; sku: string; now: number }, { held: number }>(`
      SELECT coalesce((SELECT units FROM client_held_units WHERE client_id = @client AND sku = @sku), 0)
        - coalesce((SELECT sum(quantity) FROM hold_lines
                    WHERE client_id = @client AND sku = @sku AND counted = 1 AND expires_at <= @now), 0) AS held`);

    /**
     * Per batch (one write transaction, nothing else writes meanwhile): SKUs the catalog knows, and
     * how far each partition's expired lines are settled, so a hot SKU is looked up and settled once
     * per batch rather than once per hold. Cleared when the batch ends, committed or not.
     */
    const known = new Set<string>();
    const caps = new Map<string, number | null>();
    const settledUpTo = new Map<string, number>();
    /**
     * Availability per SKU (every warehouse) as read at its first use in the batch, less what the
     * batch's holds took since: the input of planning only. Each take still proves availability in
     * its own conditional update, a failed take drops the memo, and a refusal is confirmed fresh.
     */
    const planning = new Map<string, AvailabilityRow[]>();
    const readPlanned = (skus: string[], warehouseId: string | undefined, nowMs: number): AvailabilityRow[] =>
      skus.flatMap((sku) => {
        let rows = planning.get(sku);
        if (!rows) {
          rows = this.#availability.all({ sku, warehouse: null, now: nowMs });
          planning.set(sku, rows);
        }
        return warehouseId === undefined ? rows : rows.filter((row) => row.warehouse_id === warehouseId);
      });

    /** One attempt at one planned hold, in its own savepoint: every line fits, or it throws and nothing stays. */
    const takeOnce = sqlite.transaction(
      (id: string, clientId: string, lines: Line[], nowMs: number, expiresAt: number) => {
        insertHold.run(id, clientId, expiresAt, nowMs);
        for (const [index, line] of lines.entries()) {
          // Expired lines of this partition leave its counter here, under SQLite's write lock.
          const partition = `${line.warehouseId}/${line.sku}`;
          if ((settledUpTo.get(partition) ?? -1) < nowMs) {
            let settled = 0;
            for (const row of uncountExpired.all(line.warehouseId, line.sku, nowMs)) settled += Number(row.quantity);
            if (settled > 0) settleCounter.run(settled, line.warehouseId, line.sku);
          }
          if (take.run({ quantity: line.quantity, warehouse: line.warehouseId, sku: line.sku }).changes !== 1)
            throw new LineDoesNotFit(index);
          insertLine.run(id, clientId, index, line.warehouseId, line.sku, line.quantity, expiresAt);
        }
        // Only once this hold's savepoint is sure to be kept: a rolled-back settlement must be redone.
        for (const line of lines)
          settledUpTo.set(
            `${line.warehouseId}/${line.sku}`,
            Math.max(settledUpTo.get(`${line.warehouseId}/${line.sku}`) ?? -1, nowMs),
          );
      },
    );

    const reserveOne = ({ request, context }: Job): HoldView => {
      const { nowMs } = context;
      const expiresAt = holdExpiresAt(request, nowMs);
      for (const line of request.lines) {
        if (known.has(line.sku)) continue;
        if (variantExists.get(line.sku) === undefined) throw unknownSku(line.sku);
        known.add(line.sku);
      }
      // Under the batch's write lock, after every earlier hold of the batch wrote its lines: exact.
      let cap = caps.get(context.clientId);
      if (cap === undefined) {
        cap = capOf.get({ client: context.clientId, fallback: capDefault })?.cap ?? null;
        caps.set(context.clientId, cap);
      }
      if (cap !== null) {
        for (const [sku, requested] of unitsPerSku(request.lines)) {
          const held = Number(heldOf.get({ client: context.clientId, sku, now: nowMs })?.held ?? 0);
          if (held + requested > cap) throw holdCapExceeded(sku, Number(cap), held, requested);
        }
      }
      const skus = request.lines.map((line) => line.sku);
      for (let attempt = 1; ; attempt++) {
        let planned = planLines(request.lines, readPlanned(skus, request.warehouseId, nowMs), context.destination);
        if (planned instanceof DomainError) {
          // A refusal is never made from the batch's memo: confirmed from fresh numbers first (a
          // later clock may have expired more lines than the memo counted).
          for (const sku of skus) planning.delete(sku);
          planned = planLines(request.lines, readPlanned(skus, request.warehouseId, nowMs), context.destination);
          if (planned instanceof DomainError) throw planned;
        }
        const lines = [...planned].sort(compareLockOrder);
        const id = newId();
        try {
          takeOnce(id, context.clientId, lines, nowMs, expiresAt);
          for (const line of lines) {
            const row = planning.get(line.sku)?.find((candidate) => candidate.warehouse_id === line.warehouseId);
            if (row) row.available = Number(row.available) - line.quantity;
          }
          return takenHoldView(id, request, planned, nowMs, expiresAt);
        } catch (error) {
          for (const sku of skus) planning.delete(sku);
          // Under BEGIN IMMEDIATE nobody else writes between the read and the take, so a plan that
          // does not fit is rare (another process on the file, a bug); it re-plans like PostgreSQL does.
          if (!(error instanceof LineDoesNotFit)) throw error;
          const line = lines[error.index] as Line;
          if (request.warehouseId !== undefined || attempt >= limits.holdReserveAttemptsMax) {
            throw insufficient(line, this.#read([line.sku], line.warehouseId, nowMs)[0]?.available ?? 0);
          }
        }
      }
    };

    this.#runBatch = sqlite.transaction((jobs: Pending[]) => {
      known.clear();
      caps.clear();
      settledUpTo.clear();
      planning.clear();
      try {
        return jobs.map((job): Outcome => {
          try {
            return { ok: true, view: reserveOne(job) };
          } catch (error) {
            // Some failures (SQLITE_FULL, IOERR, a RAISE(ROLLBACK)) end the whole transaction: then the
            // holds before this one are gone too, so the batch fails as one rather than run on in autocommit.
            if (!sqlite.inTransaction) throw error;
            return { ok: false, error };
          }
        });
      } finally {
        known.clear();
        caps.clear();
        settledUpTo.clear();
        planning.clear();
      }
    });
  }

  #read(skus: string[], warehouseId: string | undefined, nowMs: number): AvailabilityRow[] {
    return skus.flatMap((sku) => this.#availability.all({ sku, warehouse: warehouseId ?? null, now: nowMs }));
  }

  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Resolves with the hold once it is committed (and fsynced); rejects with the refusal (404, 409) or the error. */
  submit(request: ReserveRequest, context: ReserveContext): Promise<HoldView> {
    if (this.#closed) return Promise.reject(new Error('hold writer is closed'));
    if (this.#queue.length >= limits.writeQueueDepthMax) {
      return Promise.reject(
        new DomainError(
          'unavailable',
          'overloaded',
          'the hub is saturated with checkout holds; retry in a second',
          undefined,
          {
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, context, resolve, reject });
      this.#flushing ??= new Promise<void>((scheduled) => setImmediate(scheduled)).then(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    try {
      await this.#db.connection().execute(async () => {
        // Whatever queued while the connection was being acquired goes in too; nothing awaits below.
        this.#flushing = undefined;
        while (this.#queue.length > 0) this.#commitBatch(this.#queue.splice(0, limits.writeBatchEventsMax));
      });
    } catch (error) {
      // The connection could not be had (Kysely destroyed): nothing queued was taken.
      this.#flushing = undefined;
      for (const pending of this.#queue.splice(0)) pending.reject(error);
    }
  }

  #commitBatch(batch: Pending[]): void {
    const startedMs = performance.now();
    let outcomes: Outcome[];
    try {
      assert(!this.#sqlite.inTransaction, 'no transaction is open on the connection a hold batch holds');
      outcomes = this.#runBatch.immediate(batch);
    } catch (error) {
      // BEGIN or COMMIT failed, or the transaction was lost mid-batch: no hold of the batch exists.
      for (const pending of batch) pending.reject(error);
      return;
    }
    let taken = 0;
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) {
        taken++;
        pending.resolve(outcome.view);
      } else pending.reject(outcome.error);
    });
    this.#observe?.({ size: batch.length, taken, durationMs: performance.now() - startedMs });
  }

  /** Routes this database's SQLite holds through the writer (`reserveHold` finds it). */
  start(): this {
    writers.set(this.#db, this);
    return this;
  }

  /** Takes no more holds and resolves once every queued one is answered. */
  async close(): Promise<void> {
    this.#closed = true;
    if (writers.get(this.#db) === this) writers.delete(this.#db);
    while (this.#flushing) await this.#flushing;
  }
}
