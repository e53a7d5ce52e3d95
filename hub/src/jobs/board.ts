import { newId, notFound } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../database.ts';
import type { JobsTable } from './tables.ts';

export type JobView = {
  id: string;
  kind: 'catalog.import';
  status: 'running' | 'succeeded' | 'failed';
  done: number;
  total: number;
  result?: unknown;
  error?: { code: string; message: string; details?: unknown };
  createdAt: string;
  finishedAt?: string;
};

/** Progress is written at most this often; the heartbeat of a job that reports none, as often. */
const progressWriteMs = 500;
const heartbeatMs = 5_000;
/** A running job not heard of for this long lost the instance that ran it. */
export const jobStaleAfterMs = 30_000;
/** Finished jobs are kept this long for their report, then dropped when the next job starts. */
const finishedJobRetentionMs = 7 * 24 * 3_600_000;

/**
 * Long-running work started by a request and followed at `GET /jobs/{id}` (docs/catalog.md): a
 * large import. The job's row is the truth, so any hub instance answers for it. The instance that
 * runs a job writes its progress (at most every 500 ms) and a heartbeat; when that instance stops,
 * the job reads as failed (`interrupted`) once the heartbeat is 30 s old, and the import it ran
 * either committed whole or not at all.
 */
export class JobBoard {
  readonly #db: Kysely<Database>;
  readonly #nowMs: () => number;
  readonly #logger: Logger;
  /** Writes of this instance's jobs, in order per job: a late progress write never overwrites the outcome. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(db: Kysely<Database>, nowMs: () => number, logger: Logger) {
    this.#db = db;
    this.#nowMs = nowMs;
    this.#logger = logger;
  }

  /** Records the job, then runs it in the background; answers once the job's row exists. */
  async start(
    kind: JobView['kind'],
    createdBy: string,
    run: (progress: (done: number, total: number) => void) => Promise<unknown>,
  ): Promise<JobView> {
    const nowMs = this.#nowMs();
    await this.#db
      .deleteFrom('jobs')
      .where('finished_at', '<', nowMs - finishedJobRetentionMs)
      .execute();
    const row: JobsTable = {
      id: newId(),
      kind,
      status: 'running',
      done: 0,
      total: 0,
      result_json: null,
      error_json: null,
      created_by: createdBy,
      created_at: nowMs,
      updated_at: nowMs,
      finished_at: null,
    };
    await this.#db.insertInto('jobs').values(row).execute();
    let done = 0;
    let total = 0;
    let writtenAtMs = nowMs;
    const heartbeat = setInterval(() => this.#write(row.id, { done, total }), heartbeatMs);
    heartbeat.unref();
    const progress = (nextDone: number, nextTotal: number) => {
      done = nextDone;
      total = nextTotal;
      if (this.#nowMs() - writtenAtMs < progressWriteMs) return;
      writtenAtMs = this.#nowMs();
      this.#write(row.id, { done, total });
    };
    void run(progress)
      .then(
        (result) => ({ status: 'succeeded' as const, done, total, result_json: JSON.stringify(result ?? null) }),
        (error: unknown) => ({ status: 'failed' as const, done, total, error_json: JSON.stringify(jobError(error)) }),
      )
      .then((outcome) => {
        clearInterval(heartbeat);
        return this.#write(row.id, { ...outcome, finished_at: this.#nowMs() }, true);
      });
    return viewOf(row, nowMs);
  }

  async get(id: string): Promise<JobView> {
    // No job id holds a NUL, and PostgreSQL cannot even compare one (a 500 before).
    if (id.includes('\u0000')) throw notFound('job');
    const row = await this.#db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('job');
    return viewOf(row, this.#nowMs());
  }

  /** Waits for every write of this instance's jobs (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  #write(
    id: string,
    values: Partial<Pick<JobsTable, 'status' | 'done' | 'total' | 'result_json' | 'error_json' | 'finished_at'>>,
    last = false,
  ): Promise<void> {
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      // The outcome is written once; later progress or heartbeats for a finished job change nothing.
      await this.#db
        .updateTable('jobs')
        .set({ ...values, updated_at: this.#nowMs() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute()
        .catch((error: unknown) => this.#logger.warn({ err: error, jobId: id }, 'could not record job progress'));
    });
    this.#writes.set(id, next);
    if (last) void next.finally(() => this.#writes.get(id) === next && this.#writes.delete(id));
    return next;
  }
}

/** A domain refusal keeps its code, message and details; anything else is reported without its internals. */
function jobError(error: unknown): NonNullable<JobView['error']> {
  const known = error as { code?: string; message?: string; details?: unknown; kind?: string };
  return known.kind
    ? { code: known.code ?? 'failed', message: known.message ?? 'failed', details: known.details }
    : { code: 'internal', message: 'the job failed' };
}

function viewOf(row: JobsTable, nowMs: number): JobView {
  const view: JobView = {
    id: row.id,
    kind: row.kind as JobView['kind'],
    status: row.status as JobView['status'],
    done: Number(row.done),
    total: Number(row.total),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
  if (row.result_json !== null) view.result = JSON.parse(row.result_json);
  if (row.error_json !== null) view.error = JSON.parse(row.error_json);
  if (row.finished_at !== null) view.finishedAt = new Date(Number(row.finished_at)).toISOString();
  if (view.status === 'running' && nowMs - Number(row.updated_at) > jobStaleAfterMs) {
    view.status = 'failed';
    view.error = {
      code: 'interrupted',
      message:
        'the hub instance running this job stopped before it finished; an import commits whole or not at all: export the catalog to see which, or import the file again (idempotent by SKU)',
    };
  }
  return view;
}
