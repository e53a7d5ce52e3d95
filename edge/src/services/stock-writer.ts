import { DomainError, limits } from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import { IdempotencyStore, refusalAnswer } from './idempotency.ts';
import { type StockBook, type StockCommand, rejectionKind } from './stock.ts';

export type WriteJob = {
  command: StockCommand;
  actor: string;
  /** Present when the client sent `Idempotency-Key`: the response is stored and replayed for it. */
  idempotency?: { scope: string; key: string; requestHash: string };
};
/** `json`: `body` serialized once, for the key and for the HTTP answer alike. */
export type WriteResponse = { status: number; body: unknown; replayed: boolean; json?: string };

type Pending = { job: WriteJob; resolve: (response: WriteResponse) => void; reject: (error: unknown) => void };

export type WriterObserver = (batch: { size: number; durationMs: number; accepted: number }) => void;

/**
 * Group commit (as in TigerBeetle and PostgreSQL's commit_delay): scans that arrive while the
 * event loop is busy are applied together in one SQLite transaction, so one WAL fsync makes a whole
 * batch durable. Each scan still gets its own ledger row, outbox seq and answer; a scan whose code
 * throws is rolled back alone (a savepoint) and answered 500, the others commit. Nobody is answered
 * before the batch's commit has returned.
 */
export class StockWriter {
  readonly #queue: Pending[] = [];
  readonly #nowMs: () => number;
  readonly #observe: WriterObserver | undefined;
  readonly #runBatch: (jobs: Pending[], nowMs: number) => Array<WriteResponse | { error: unknown }>;
  readonly #keys: IdempotencyStore;
  #scheduled = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(db: EdgeDatabase, book: StockBook, options: { nowMs: () => number; observe?: WriterObserver }) {
    this.#nowMs = options.nowMs;
    this.#observe = options.observe;
    this.#keys = new IdempotencyStore(db);

    const runOne = db.transaction((job: WriteJob, nowMs: number): WriteResponse => {
      const { idempotency } = job;
      const replayed = idempotency && this.#keys.replay(idempotency);
      if (replayed) return replayed as WriteResponse;
      const outcome = book.apply(job.command, job.actor, nowMs);
      const response: WriteResponse = outcome.ok
        ? { status: 201, replayed: false, body: { event: outcome.event, stock: outcome.stock } }
        : refusalAnswer(
            new DomainError(rejectionKind(outcome.reason), outcome.reason, outcome.message, {
              sku: job.command.sku,
              stock: outcome.stock,
            }),
          );
      const json = JSON.stringify(response.body);
      if (idempotency) this.#keys.remember(idempotency, response, nowMs, json);
      return { ...response, json };
    });

    this.#runBatch = db.transaction((jobs: Pending[], nowMs: number) =>
      jobs.map((pending) => {
        try {
          return runOne(pending.job, nowMs);
        } catch (error) {
          return { error };
        }
      }),
    );
  }

  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Resolves once the scan is durable (committed and fsynced) or refused. */
  submit(job: WriteJob): Promise<WriteResponse> {
    if (this.#closed) return Promise.reject(new Error('stock writer is closed'));
    if (this.#queue.length >= limits.writeQueueDepthMax) {
      return Promise.resolve(
        refusalAnswer(
          new DomainError('unavailable', 'overloaded', 'the edge is saturated with writes; retry in a second'),
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, limits.writeBatchEventsMax);
      const startedMs = performance.now();
      let results: Array<WriteResponse | { error: unknown }>;
      try {
        results = this.#runBatch(batch, this.#nowMs());
      } catch (error) {
        // The commit itself failed (disk full, I/O error): nothing in the batch was acknowledged.
        for (const pending of batch) pending.reject(error);
        continue;
      }
      let accepted = 0;
      batch.forEach((pending, index) => {
        const result = results[index] as WriteResponse | { error: unknown };
        if ('error' in result) pending.reject(result.error);
        else {
          if (result.status === 201 && !result.replayed) accepted++;
          pending.resolve(result);
        }
      });
      this.#observe?.({ size: batch.length, durationMs: performance.now() - startedMs, accepted });
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Forgets idempotency keys past their retention. */
  pruneIdempotencyKeys(nowMs: number): number {
    return this.#keys.prune(nowMs);
  }

  /** Stops taking scans and resolves once every queued one is answered. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length === 0 && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
