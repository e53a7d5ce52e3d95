import { newId, notFound } from '@dovetail/shared';

/** Jobs one hub keeps (finished ones are dropped oldest first past it). */
const jobsMax = 100;

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

/**
 * Long-running work started by a request and followed at `GET /jobs/{id}` (docs/catalog.md): a
 * large import. Jobs live in the memory of the hub instance that runs them, so a client follows a
 * job on that instance (behind a load balancer: sticky, or poll until found); a restart forgets them,
 * and the import they ran either committed whole or not at all.
 */
export class JobBoard {
  readonly #jobs = new Map<string, JobView>();

  start(
    kind: JobView['kind'],
    now: () => number,
    run: (progress: (done: number, total: number) => void) => Promise<unknown>,
  ) {
    const job: JobView = {
      id: newId(),
      kind,
      status: 'running',
      done: 0,
      total: 0,
      createdAt: new Date(now()).toISOString(),
    };
    this.#jobs.set(job.id, job);
    for (const [id, old] of this.#jobs) {
      if (this.#jobs.size <= jobsMax) break;
      if (old.status !== 'running') this.#jobs.delete(id);
    }
    run((done, total) => {
      job.done = done;
      job.total = total;
    })
      .then((result) => {
        job.status = 'succeeded';
        job.result = result;
      })
      .catch((error: unknown) => {
        job.status = 'failed';
        const known = error as { code?: string; message?: string; details?: unknown; kind?: string };
        job.error = known.kind
          ? { code: known.code ?? 'failed', message: known.message ?? 'failed', details: known.details }
          : { code: 'internal', message: 'the job failed' };
      })
      .finally(() => {
        job.finishedAt = new Date(now()).toISOString();
      });
    return job;
  }

  get(id: string): JobView {
    const job = this.#jobs.get(id);
    if (!job) throw notFound('job');
    return job;
  }
}
