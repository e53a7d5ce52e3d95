import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../database.ts';

type Job = {
  work: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

/** Pushes one transaction takes at most: a bound on how long the others wait behind one commit. */
const jobsPerCommitMax = 128;

/**
 * Group commit for the edges' pushes on SQLite. Every push is a transaction, and with
 * `synchronous = FULL` every commit waits for an fsync on the hub's one connection: with hundreds of
 * edges each pushing an event a second, the fsyncs alone filled the second and acks waited for
 * seconds. Pushes that arrive while a commit is under way (or in the same turn of the event loop)
 * are applied together in one transaction, each in its own savepoint, and share one fsync: a push
 * that fails is rolled back to its savepoint alone and rejected with its own error, the others
 * commit. Nobody's promise settles before the shared commit is durable (acks go out after it). A
 * lone push runs as a plain transaction, as before. PostgreSQL does not need this: its pool runs
 * pushes concurrently and its WAL commits them together.
 */
export class GroupCommitter {
  readonly #db: Kysely<Database>;
  readonly #queue: Job[] = [];
  #scheduled = false;
  #running = false;
  #transactions = 0;
  #jobs = 0;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Runs `work` in the next shared transaction; settles once that transaction committed (or failed). */
  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Transactions committed (or attempted) and the jobs they carried: jobs ÷ transactions is the batching. */
  get stats(): { transactions: number; jobs: number } {
    return { transactions: this.#transactions, jobs: this.#jobs };
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#running = true;
    const batch = this.#queue.splice(0, jobsPerCommitMax);
    this.#transactions++;
    this.#jobs += batch.length;
    try {
      const [only] = batch;
      if (batch.length === 1 && only) {
        await this.#db
          .transaction()
          .execute((trx) => only.work(trx))
          .then(only.resolve, only.reject);
        return;
      }
      const outcomes = await this.#together(batch).catch((error: unknown) =>
        batch.map(() => ({ ok: false as const, error })),
      );
      outcomes.forEach((outcome, index) => {
        const job = batch[index] as Job;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  /** Every job in its own savepoint of one transaction; throws (nothing committed) if the transaction itself fails. */
  async #together(batch: readonly Job[]) {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const trx = await this.#db.startTransaction().execute();
    try {
      for (const [index, job] of batch.entries()) {
        const name = `push_${index}`;
        const savepoint = await trx.savepoint(name).execute();
        try {
          const value = await job.work(savepoint);
          await savepoint.releaseSavepoint(name).execute();
          outcomes.push({ ok: true, value });
        } catch (error) {
          await savepoint.rollbackToSavepoint(name).execute();
          outcomes.push({ ok: false, error });
        }
      }
      await trx.commit().execute();
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw error;
    }
    return outcomes;
  }
}
