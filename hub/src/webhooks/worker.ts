import { randomBytes } from 'node:crypto';
import { limits } from '@dovetail/shared';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../database.ts';
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
    await this.#running;
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
  }

  #poke(): void {
    this.#woken = true;
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        this.#woken = false;
        done();
      };
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
      ])
      .where('d.id', 'in', claimedIds)
      .where('d.lease_owner', '=', this.#instanceId)
      .execute()) as Claimed[];
    for (const row of rows) {
      const attempt: Promise<void> = this.#attempt(row)
        .catch((error) => this.#logger.error({ err: error, delivery: row.id }, 'webhook attempt not recorded'))
        .finally(() => {
          this.#inFlight.delete(attempt);
          this.#poke();
        });
      this.#inFlight.add(attempt);
    }
    return rows.length;
  }

  /**
   * Due, unleased deliveries of enabled endpoints, oldest first, at most `inFlightPerEndpointMax` per
   * endpoint counting those already in flight anywhere.
   */
  async #candidates(now: number, capacity: number): Promise<string[]> {
    const perEndpoint = this.#inFlightPerEndpointMax;
    const result = await sql<{ id: string }>`
      with busy as (
        select endpoint_id, count(*) as n from webhook_deliveries
        where lease_until > ${now} and status = 'pending'
        group by endpoint_id
      ),
      due as (
        select d.id, d.endpoint_id, d.next_attempt_at,
          row_number() over (partition by d.endpoint_id order by d.next_attempt_at, d.id) as rn
        from webhook_deliveries d
        join webhook_endpoints e on e.id = d.endpoint_id
        where d.status = 'pending' and d.next_attempt_at <= ${now} and d.lease_until <= ${now}
          and e.disabled_at is null
      )
      select due.id from due left join busy on busy.endpoint_id = due.endpoint_id
      where due.rn + coalesce(busy.n, 0) <= ${perEndpoint}
      order by due.next_attempt_at, due.id
      limit ${capacity}`.execute(this.#db);
    return result.rows.map((row) => row.id);
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
    const secrets = [openSecret(row.secret, row.endpoint_id, this.#settings)];
    if (row.previous_secret && (row.previous_secret_expires_at ?? 0) > startedAt) {
      secrets.push(openSecret(row.previous_secret, row.endpoint_id, this.#settings));
    }
    const timestampSeconds = Math.floor(startedAt / 1000);
    const result = await sendAttempt({
      url: row.url,
      body: row.body,
      headers: {
        'webhook-id': row.id,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': signatureHeader(secrets, row.id, timestampSeconds, row.body),
      },
      timeoutMs: this.#settings.attemptTimeoutMs,
      allowPrivate: this.#settings.allowPrivate,
      agents: this.#agents,
    });
    await this.#record(row, startedAt, result);
  }

  /** The attempt's outcome, the delivery's next state and the endpoint's health, in one transaction. */
  async #record(row: Claimed, startedAt: number, result: AttemptResult): Promise<void> {
    const now = this.#nowMs();
    const schedule = this.#settings.retryScheduleMs;
    const nextStep = row.schedule_step + 1;
    const exhausted = !result.ok && (result.gone || nextStep >= schedule.length);
    let disabled: { reason: 'gone' | 'failing'; failingSince: number | null; url: string } | undefined;
    await this.#db.transaction().execute(async (trx) => {
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
      disabled = { reason, failingSince, url: endpoint.url };
    });
    if (disabled) {
      this.#logger.warn(
        { endpoint: row.endpoint_id, reason: disabled.reason, failingSince: disabled.failingSince },
        disabled.reason === 'gone'
          ? 'webhook endpoint answered 410 Gone: disabled'
          : 'webhook endpoint failing for too long: disabled',
      );
    }
  }
}

/** A retry delay spread by ± the jitter fraction, so endpoints that failed together retry apart. */
function jittered(delayMs: number): number {
  const spread = delayMs * limits.webhookRetryJitterFraction;
  return Math.max(0, Math.round(delayMs - spread + Math.random() * 2 * spread));
}
