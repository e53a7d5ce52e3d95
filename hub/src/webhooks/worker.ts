import { randomBytes } from 'node:crypto';
import { limits } from '@dovetail/shared';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../database.ts';
import { sealedPrefix, vaultOf } from '../db/personal-data.ts';
import { emitWebhookEvent } from './emit.ts';
import { type WebhookNotifier, webhookNotifier } from './notifier.ts';
import { type AttemptResult, type WebhookAgents, createAgents, sendAttempt } from './send.ts';
import { type WebhookSettings, openSecret } from './settings.ts';
import { signatureHeader } from './signature.ts';

export type WebhookWorkerOptions = {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  settings: WebhookSettings;
  logger: Logger;
  nowMs?: () => number;
  notifier?: WebhookNotifier;
  /** Names this instance's leases (several hubs share one PostgreSQL database). */
  instanceId?: string;
  inFlightMax?: number;
  inFlightPerEndpointMax?: number;
};

type Disabled = { endpointId: string; reason: 'gone' | 'failing'; failingSince: number | null; url: string };

type Outcome = {
  row: Claimed;
  startedAt: number;
  result: AttemptResult;
  resolve: () => void;
  reject: (error: unknown) => void;
};

type Claimed = {
  id: string;
  endpoint_id: string;
  attempts: number;
  schedule_step: number;
  lease_until: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  failing_since: number | null;
  body: string;
  event_id: string;
  event_type: string;
};

/**
 * The delivery worker: a long-running process (`{id, run, stop}`) that sends due deliveries.
 *
 * A delivery is claimed by moving its `lease_until` past the attempt's end (timeout + margin) in one
 * conditional update that re-checks the row is still free: on SQLite the single writer makes it
 * atomic, on PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED` and the update's
 * predicate is re-evaluated on the locked row, so with N instances each attempt is claimed by one,
 * and nobody sends a delivery while another holds its lease. A hub killed mid-attempt leaves the lease
 * to expire and the delivery is sent again (at-least-once; the `webhook-id` lets receivers dedupe).
 *
 * Fairness: a claim takes at most `inFlightPerEndpointMax` in-flight deliveries per endpoint (those
 * leased by any instance count), and an instance runs at most `inFlightMax` attempts at once, so a
 * hanging endpoint holds only its own slots and never delays another endpoint's deliveries.
 */
export class WebhookWorker {
  readonly id: string;
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #settings: WebhookSettings;
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #notifier: WebhookNotifier;
  readonly #instanceId: string;
  readonly #inFlightMax: number;
  readonly #inFlightPerEndpointMax: number;
  readonly #inFlight = new Set<Promise<void>>();
  /** Deliveries this instance is sending: never started twice here, even if a lease ran out meanwhile. */
  readonly #sending = new Set<string>();
  readonly #outcomes: Outcome[] = [];
  #flushing: Promise<void> | undefined;
  #lastPruneMs = 0;
  /**
   * Per endpoint, this instance's attempts whose request is over but whose outcome is not yet
   * committed: still leased, but no longer a request to the endpoint, so they do not count against
   * its concurrency (the next requests start while the last outcomes are being written).
   */
  readonly #answered = new Map<string, number>();
  readonly #agents: WebhookAgents;
  #stopped = false;
  #woken = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: WebhookWorkerOptions) {
    this.#db = options.db;
    this.#dialect = options.dialect;
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#notifier = options.notifier ?? webhookNotifier;
    this.#instanceId = options.instanceId ?? `hub-${randomBytes(6).toString('hex')}`;
    this.#inFlightMax = options.inFlightMax ?? limits.webhookInFlightMax;
    this.#inFlightPerEndpointMax = options.inFlightPerEndpointMax ?? limits.webhookInFlightPerEndpointMax;
    this.id = `webhook-worker:${this.#instanceId}`;
    this.#agents = createAgents(this.#settings.allowPrivate);
  }

  /** Starts `run()` in the background (what hub.ts does); `stop()` ends it. */
  start(): this {
    this.#running = this.run().catch((error) => this.#logger.error({ err: error }, 'webhook worker stopped'));
    return this;
  }

  async run(): Promise<void> {
    this.#unsubscribe = this.#notifier.subscribe(() => this.#poke());
    try {
      while (!this.#stopped) {
        let claimed = 0;
        let capacity = this.#inFlightMax - this.#inFlight.size;
        if (capacity > 0) {
          // Attempts are in flight: let a few more answers arrive before claiming, so one claim (a
          // commit, an fsync on SQLite) refills many slots instead of one per answer.
          if (this.#inFlight.size > 0) {
            await new Promise((resolve) => setTimeout(resolve, limits.webhookClaimWindowMs));
            capacity = this.#inFlightMax - this.#inFlight.size;
          }
          try {
            claimed = await this.#claimAndSend(capacity);
          } catch (error) {
            if (this.#stopped) break;
            this.#logger.warn({ err: error }, 'webhook claim failed; will retry');
          }
          capacity -= claimed;
        }
        // A full claim may have left more due: go again at once (while there is room).
        if (claimed > 0 && capacity > 0) continue;
        await this.#pruneNow().catch((error) => this.#logger.warn({ err: error }, 'webhook pruning failed'));
        await this.#sleep(this.#settings.pollIntervalMs);
      }
    } finally {
      this.#unsubscribe?.();
    }
  }

  /**
   * Stops claiming and gives attempts in flight up to `webhookStopWaitMs` to finish and be recorded;
   * one still running after that is abandoned: its lease expires and it is sent again.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poke();
    // The loop ends at its next turn; one stuck in a database call that never returns (the storage
    // closed under it) is not waited for past the bound, so a shutdown always finishes.
    let loopTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#running,
      new Promise((resolve) => {
        loopTimer = setTimeout(resolve, limits.webhookStopWaitMs);
      }),
    ]);
    clearTimeout(loopTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.min(this.#settings.attemptTimeoutMs, limits.webhookStopWaitMs));
      }),
    ]);
    clearTimeout(timer);
    this.#agents.http.destroy();
    this.#agents.https.destroy();
    this.#agents.allowed.http.destroy();
    this.#agents.allowed.https.destroy();
  }

  /**
   * The outbox is bounded in time: deliveries finished (succeeded or failed) more than
   * `webhookRetentionMs` ago go with their attempts, and events left without deliveries with them.
   * At most one bounded batch per `webhookPruneIntervalMs`, between claims.
   */
  async #pruneNow(): Promise<void> {
    const now = this.#nowMs();
    if (now - this.#lastPruneMs < limits.webhookPruneIntervalMs) return;
    this.#lastPruneMs = now;
    const before = now - limits.webhookRetentionMs;
    await this.#db.transaction().execute(async (trx) => {
      const old = await trx
        .selectFrom('webhook_deliveries')
        .select(['id', 'event_id'])
        .where('status', 'in', ['succeeded', 'failed'])
        .where('completed_at', '<', before)
        .limit(limits.webhookPruneBatchMax)
        .execute();
      if (old.length === 0) return;
      const ids = old.map((row) => row.id);
      await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
      await trx.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
      const eventIds = [...new Set(old.map((row) => row.event_id))];
      await trx
        .deleteFrom('webhook_events')
        .where('id', 'in', eventIds)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'webhook_events.id'),
            ),
          ),
        )
        .execute();
    });
  }

  /** Something may be due: end the current sleep, or (busy now) skip the next one. Never lost. */
  #poke(): void {
    if (this.#wake) this.#wake();
    else this.#woken = true;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        if (this.#wake === finish) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.#wake = finish;
    });
  }

  async #claimAndSend(capacity: number): Promise<number> {
    const now = this.#nowMs();
    const ids = await this.#candidates(now, capacity);
    if (ids.length === 0) return 0;
    const leaseUntil = now + this.#settings.attemptTimeoutMs + limits.webhookLeaseMarginMs;
    const claimedIds = await this.#claim(ids, now, leaseUntil);
    if (claimedIds.length === 0) return 0;
    const rows = (await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .select([
        'd.id',
        'd.endpoint_id',
        'd.attempts',
        'd.schedule_step',
        'd.lease_until',
        'e.url',
        'e.secret',
        'e.previous_secret',
        'e.previous_secret_expires_at',
        'e.failing_since',
        'v.body',
        'v.id as event_id',
        'v.type as event_type',
      ])
      .where('d.id', 'in', claimedIds)
      .where('d.lease_owner', '=', this.#instanceId)
      .execute()) as Claimed[];
    let started = 0;
    for (const row of rows) {
      if (this.#sending.has(row.id)) continue;
      this.#sending.add(row.id);
      started++;
      const attempt: Promise<void> = this.#attempt(row)
        .catch((error) => {
          if (!this.#stopped) this.#logger.error({ err: error, delivery: row.id }, 'webhook attempt not recorded');
        })
        .finally(() => {
          this.#sending.delete(row.id);
          this.#inFlight.delete(attempt);
          this.#poke();
        });
      this.#inFlight.add(attempt);
    }
    return started;
  }

  /**
   * Due, unleased deliveries of enabled endpoints, oldest first, at most `inFlightPerEndpointMax` per
   * endpoint counting those already in flight anywhere. Each endpoint's due deliveries are read from
   * its own index range (a bounded probe per endpoint), so a backlog at one endpoint (a dead one, a
   * burst) neither slows the scan nor crowds the others out of it.
   */
  async #candidates(now: number, capacity: number): Promise<string[]> {
    const perEndpoint = this.#inFlightPerEndpointMax;
    const busyRows = await this.#db
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('lease_until', '>', now)
      .where('status', '=', 'pending')
      .groupBy('endpoint_id')
      .execute();
    const busy = new Map(
      busyRows.map((row) => [row.endpoint_id, Number(row.n) - (this.#answered.get(row.endpoint_id) ?? 0)]),
    );
    const result = await sql<{ id: string; endpoint_id: string; next_attempt_at: number }>`
      select d.id, d.endpoint_id, d.next_attempt_at
      from webhook_endpoints e
      join webhook_deliveries d on d.id in (
        select d2.id from webhook_deliveries d2
        where d2.endpoint_id = e.id and d2.status = 'pending' and d2.next_attempt_at <= ${now}
          and d2.lease_until <= ${now}
        order by d2.next_attempt_at, d2.id
        limit ${perEndpoint}
      )
      where e.disabled_at is null`.execute(this.#db);
    const taken = new Map<string, number>();
    return result.rows
      .sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || (a.id < b.id ? -1 : 1))
      .filter((row) => {
        const count = (taken.get(row.endpoint_id) ?? 0) + 1;
        if (count + (busy.get(row.endpoint_id) ?? 0) > perEndpoint) return false;
        taken.set(row.endpoint_id, count);
        return true;
      })
      .slice(0, capacity)
      .map((row) => row.id);
  }

  /** The atomic claim: only rows still free are taken; returns the ids this instance now holds. */
  async #claim(ids: string[], now: number, leaseUntil: number): Promise<string[]> {
    if (this.#dialect === 'postgres') {
      const result = await sql<{ id: string }>`
        update webhook_deliveries set lease_until = ${leaseUntil}, lease_owner = ${this.#instanceId}
        where id in (
          select id from webhook_deliveries
          where id in (${sql.join(ids)}) and status = 'pending' and lease_until <= ${now}
          for update skip locked
        ) and status = 'pending' and lease_until <= ${now}
        returning id`.execute(this.#db);
      return result.rows.map((row) => row.id);
    }
    const rows = await this.#db
      .updateTable('webhook_deliveries')
      .set({ lease_until: leaseUntil, lease_owner: this.#instanceId })
      .where('id', 'in', ids)
      .where('status', '=', 'pending')
      .where('lease_until', '<=', now)
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  }

  async #attempt(row: Claimed): Promise<void> {
    const startedAt = this.#nowMs();
    // Only start while the lease covers the whole attempt: past that another instance may claim it.
    if (startedAt + this.#settings.attemptTimeoutMs >= Number(row.lease_until)) return;
    const secrets = [openSecret(row.secret, row.endpoint_id, this.#settings)];
    if (row.previous_secret && (row.previous_secret_expires_at ?? 0) > startedAt) {
      secrets.push(openSecret(row.previous_secret, row.endpoint_id, this.#settings));
    }
    const timestampSeconds = Math.floor(startedAt / 1000);
    // Personal fields are stored sealed and opened now (an erased customer's read "erased"; docs/operations.md, "Personal data").
    const body = row.body.includes(sealedPrefix)
      ? JSON.stringify(await vaultOf(this.#db).openDeep(this.#db, JSON.parse(row.body)))
      : row.body;
    const result = await sendAttempt({
      url: row.url,
      body,
      headers: {
        'webhook-id': row.id,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': signatureHeader(secrets, row.id, timestampSeconds, body),
      },
      timeoutMs: this.#settings.attemptTimeoutMs,
      allowPrivate: this.#settings.allowPrivate,
      allowHosts: this.#settings.allowHosts,
      agents: this.#agents,
    });
    this.#answered.set(row.endpoint_id, (this.#answered.get(row.endpoint_id) ?? 0) + 1);
    this.#poke();
    try {
      await this.#recordSoon(row, startedAt, result);
    } finally {
      const left = (this.#answered.get(row.endpoint_id) ?? 1) - 1;
      if (left > 0) this.#answered.set(row.endpoint_id, left);
      else this.#answered.delete(row.endpoint_id);
    }
  }

  /**
   * Attempt outcomes are recorded group-committed: each attempt waits for the transaction that
   * records it, and outcomes arriving while one is being written share the next (one commit for many
   * attempts; on SQLite with synchronous=FULL a commit is an fsync). A batch that fails to commit
   * leaves its deliveries leased: they are sent again once the lease lapses (at-least-once).
   */
  #recordSoon(row: Claimed, startedAt: number, result: AttemptResult): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#outcomes.push({ row, startedAt, result, resolve, reject });
      this.#flushOutcomes();
    });
  }

  #flushOutcomes(): void {
    if (this.#flushing || this.#outcomes.length === 0) return;
    this.#flushing = (async () => {
      // A short window lets the answers that are arriving join this commit: on SQLite a commit is a
      // synchronous fsync that holds the event loop, so one per answer would serialize the answers.
      if (this.#inFlight.size > this.#outcomes.length) {
        await new Promise((resolve) => setTimeout(resolve, limits.webhookRecordWindowMs));
      }
      while (this.#outcomes.length > 0) {
        // Endpoint rows are shared between instances: every batch touches them in one order (by
        // endpoint id), so two instances' batches wait for each other instead of deadlocking.
        const batch = this.#outcomes
          .splice(0, limits.webhookRecordBatchMax)
          .sort((a, b) => (a.row.endpoint_id < b.row.endpoint_id ? -1 : a.row.endpoint_id > b.row.endpoint_id ? 1 : 0));
        try {
          await this.#recordAll(batch);
          for (const outcome of batch) outcome.resolve();
        } catch {
          // One outcome must not cost the others theirs: record them one by one.
          for (const outcome of batch) {
            await this.#recordAll([outcome]).then(outcome.resolve, outcome.reject);
          }
        }
      }
    })().finally(() => {
      this.#flushing = undefined;
      this.#flushOutcomes();
    });
  }

  async #recordAll(outcomes: readonly Outcome[]): Promise<void> {
    const disabled = await this.#db.transaction().execute(async (trx) => {
      const notes: Disabled[] = [];
      for (const outcome of outcomes) {
        const note = await this.#record(trx, outcome.row, outcome.startedAt, outcome.result);
        if (note) notes.push(note);
      }
      return notes;
    });
    for (const note of disabled) this.#warnDisabled(note);
  }

  #warnDisabled(note: Disabled): void {
    this.#logger.warn(
      { endpoint: note.endpointId, url: note.url, reason: note.reason, failingSince: note.failingSince },
      note.reason === 'gone'
        ? 'webhook endpoint answered 410 Gone: disabled'
        : 'webhook endpoint failing for too long: disabled',
    );
  }

  /** The attempt's outcome, the delivery's next state and the endpoint's health, in the batch's transaction. */
  async #record(
    trx: Transaction<Database>,
    row: Claimed,
    startedAt: number,
    result: AttemptResult,
  ): Promise<Disabled | undefined> {
    const now = this.#nowMs();
    const schedule = this.#settings.retryScheduleMs;
    const nextStep = row.schedule_step + 1;
    const exhausted = !result.ok && (result.gone || nextStep >= schedule.length);
    {
      const updated = await trx
        .updateTable('webhook_deliveries')
        .set({
          status: result.ok ? 'succeeded' : exhausted ? 'failed' : 'pending',
          attempts: row.attempts + 1,
          schedule_step: result.ok || exhausted ? row.schedule_step : nextStep,
          next_attempt_at:
            result.ok || exhausted ? now : now + (result.retryAfterMs ?? jittered(schedule[nextStep] ?? 0)),
          lease_until: 0,
          lease_owner: null,
          last_attempt_at: startedAt,
          last_status_code: result.statusCode,
          last_error: result.error,
          completed_at: result.ok || exhausted ? now : null,
        })
        .where('id', '=', row.id)
        .where('lease_owner', '=', this.#instanceId)
        .where('lease_until', '=', row.lease_until)
        .executeTakeFirst();
      // The endpoint was deleted meanwhile, or (it should not happen) the lease was lost: nothing to record.
      if (Number(updated.numUpdatedRows) === 0) return;
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: row.id,
          attempt: row.attempts + 1,
          endpoint_id: row.endpoint_id,
          started_at: startedAt,
          status_code: result.statusCode,
          latency_ms: result.latencyMs,
          error: result.error,
          response_body: result.responseBody,
        })
        .execute();
      if (result.ok) {
        if (row.failing_since !== null) {
          await trx
            .updateTable('webhook_endpoints')
            .set({ failing_since: null })
            .where('id', '=', row.endpoint_id)
            .execute();
        }
        return;
      }
      // A dead letter (the schedule ran out) is announced to admin endpoints, as Svix's
      // message.attempt.exhausted; not for that event itself, so a failing admin endpoint cannot loop.
      if (exhausted && !result.gone && row.event_type !== 'delivery.exhausted') {
        await emitWebhookEvent(trx, {
          type: 'delivery.exhausted',
          data: {
            deliveryId: row.id,
            endpointId: row.endpoint_id,
            eventId: row.event_id,
            eventType: row.event_type,
            attempts: row.attempts + 1,
            lastStatusCode: result.statusCode,
            lastError: result.error,
            exhaustedAt: new Date(now).toISOString(),
          },
          nowMs: now,
        });
      }
      const endpoint = await trx
        .updateTable('webhook_endpoints')
        .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(startedAt)) }))
        .where('id', '=', row.endpoint_id)
        .returning(['url', 'failing_since', 'disabled_at'])
        .executeTakeFirst();
      if (!endpoint || endpoint.disabled_at !== null) return;
      const failingSince = endpoint.failing_since === null ? null : Number(endpoint.failing_since);
      const reason = result.gone
        ? 'gone'
        : failingSince !== null && now - failingSince >= this.#settings.disableAfterMs
          ? 'failing'
          : undefined;
      if (!reason) return;
      await trx
        .updateTable('webhook_endpoints')
        .set({ disabled_at: now, disabled_reason: reason, updated_at: now })
        .where('id', '=', row.endpoint_id)
        .where('disabled_at', 'is', null)
        .execute();
      await emitWebhookEvent(trx, {
        type: 'endpoint.disabled',
        data: {
          endpointId: row.endpoint_id,
          url: endpoint.url,
          reason,
          failingSince: failingSince === null ? null : new Date(failingSince).toISOString(),
          disabledAt: new Date(now).toISOString(),
        },
        nowMs: now,
      });
      return { endpointId: row.endpoint_id, reason, failingSince, url: endpoint.url };
    }
  }
}

/** A retry delay spread by ± the jitter fraction, so endpoints that failed together retry apart. */
function jittered(delayMs: number): number {
  const spread = delayMs * limits.webhookRetryJitterFraction;
  return Math.max(0, Math.round(delayMs - spread + Math.random() * 2 * spread));
}
