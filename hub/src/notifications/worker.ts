import { randomBytes } from 'node:crypto';
import {
  type NotificationKind,
  type NotificationStatus,
  limits,
  notificationDataSchema,
  renderEmail,
  renderSms,
} from '@dovetail/shared';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../database.ts';
import { erased, vaultOf } from '../db/personal-data.ts';
import { type Mailer, smtpMailer } from './mailer.ts';
import { type NotificationNotifier, notificationNotifier } from './notifier.ts';
import type { SendOutcome } from './outcome.ts';
import type { NotificationSettings } from './settings.ts';
import { HttpSmsProvider, type SmsProvider } from './sms.ts';

export type NotificationWorkerOptions = {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  settings: NotificationSettings;
  /** The name customers see (`HUB_BRAND_NAME`). */
  brand: string;
  /** Where customers reach the hub (`HUB_PUBLIC_URL`): every link in a message starts with it. */
  publicUrl: string;
  logger: Logger;
  nowMs?: () => number;
  notifier?: NotificationNotifier;
  /** Names this instance's leases (several hubs share one PostgreSQL database). */
  instanceId?: string;
  inFlightMax?: number;
  /** Replace the transports (tests); by default from the settings: SMTP, the HTTP SMS provider. */
  mailer?: Mailer;
  smsProvider?: SmsProvider;
};

type Claimed = {
  id: string;
  kind: string;
  channel: string;
  recipient: string;
  recipient_token: string;
  data_json: string;
  attempts: number;
  lease_until: number;
  opted_out_at: number | null;
  tracking_token: string | null;
  feedback_token: string | null;
};

type Outcome = { status: NotificationStatus; error: string | null; reference: string | null; retryAfterMs?: number };

/**
 * The notification worker: a long-running process (`{id, run, stop}`) that sends due notifications,
 * the same durable pattern as the webhook worker.
 *
 * A notification is claimed by moving its `lease_until` past the attempt's end in one conditional
 * update that re-checks the row is still free (SQLite: the single writer makes it atomic; PostgreSQL:
 * the candidates are locked `FOR UPDATE SKIP LOCKED` and the predicate re-evaluated on the locked
 * row), so with N instances each attempt is made by one, and the outcome is recorded only by the
 * lease holder. Sent, failed, skipped and suppressed are final: nothing sends a notification again
 * once its outcome is recorded. A hub killed between the server's acceptance and the record leaves
 * the lease to expire and the message is sent again (at-least-once, with the same Message-ID).
 *
 * Not configured: an e-mail with no `HUB_SMTP_URL` (a text with no SMS provider) is recorded
 * `skipped`, never an error. Opted out since it was recorded: `suppressed`, not sent. A feedback
 * request is not due before `feedbackDelayMs` after the delivery that recorded it.
 */
export class NotificationWorker {
  readonly id: string;
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #settings: NotificationSettings;
  readonly #brand: string;
  readonly #publicUrl: string;
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #notifier: NotificationNotifier;
  readonly #instanceId: string;
  readonly #inFlightMax: number;
  readonly #mailer: Mailer | undefined;
  readonly #sms: SmsProvider | undefined;
  readonly #messageIdDomain: string;
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = false;
  #woken = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: NotificationWorkerOptions) {
    this.#db = options.db;
    this.#dialect = options.dialect;
    this.#settings = options.settings;
    this.#brand = options.brand;
    this.#publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.#logger = options.logger;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#notifier = options.notifier ?? notificationNotifier;
    this.#instanceId = options.instanceId ?? `hub-${randomBytes(6).toString('hex')}`;
    this.#inFlightMax = options.inFlightMax ?? limits.notificationInFlightMax;
    const { smtpUrl, mailFrom, sms, attemptTimeoutMs } = this.#settings;
    this.#mailer =
      options.mailer ?? (smtpUrl && mailFrom ? smtpMailer(smtpUrl, mailFrom, attemptTimeoutMs) : undefined);
    this.#sms = options.smsProvider ?? (sms ? new HttpSmsProvider(sms, attemptTimeoutMs) : undefined);
    this.#messageIdDomain = messageIdDomain(mailFrom, this.#publicUrl);
    this.id = `notification-worker:${this.#instanceId}`;
  }

  /** Whether e-mail / SMS are configured (what the start-up log line says). */
  get channels(): { email: boolean; sms: boolean } {
    return { email: this.#mailer !== undefined, sms: this.#sms !== undefined };
  }

  /** Starts `run()` in the background (what hub.ts does); `stop()` ends it. */
  start(): this {
    this.#running = this.run().catch((error) => this.#logger.error({ err: error }, 'notification worker stopped'));
    return this;
  }

  async run(): Promise<void> {
    this.#unsubscribe = this.#notifier.subscribe(() => this.#poke());
    try {
      while (!this.#stopped) {
        let claimed = 0;
        const capacity = this.#inFlightMax - this.#inFlight.size;
        if (capacity > 0) {
          try {
            claimed = await this.#claimAndSend(capacity);
          } catch (error) {
            if (this.#stopped) break;
            this.#logger.warn({ err: error }, 'notification claim failed; will retry');
          }
        }
        // A full claim may have left more due: go again at once (while there is room).
        if (claimed > 0 && claimed < capacity) continue;
        await this.#sleep(this.#settings.pollIntervalMs);
      }
    } finally {
      this.#unsubscribe?.();
    }
  }

  /**
   * Stops claiming and gives attempts in flight up to `notificationStopWaitMs` to finish and be
   * recorded; one still running after that is abandoned: its lease expires and it is sent again.
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
        loopTimer = setTimeout(resolve, limits.notificationStopWaitMs);
      }),
    ]);
    clearTimeout(loopTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.min(this.#settings.attemptTimeoutMs, limits.notificationStopWaitMs));
      }),
    ]);
    clearTimeout(timer);
    this.#mailer?.close();
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
    // The lease outlasts every phase of an attempt (each bounded by the timeout) with a margin.
    const leaseUntil = now + 4 * this.#settings.attemptTimeoutMs + limits.notificationLeaseMarginMs;
    const claimedIds = await this.#claim(ids, now, leaseUntil);
    if (claimedIds.length === 0) return 0;
    const rows = (await this.#db
      .selectFrom('notifications as n')
      .innerJoin('notification_recipients as r', 'r.token', 'n.recipient_token')
      .innerJoin('orders as o', 'o.id', 'n.order_id')
      .leftJoin('feedback as f', 'f.order_id', 'n.order_id')
      .select([
        'n.id',
        'n.kind',
        'n.channel',
        'n.recipient',
        'n.recipient_token',
        'n.data_json',
        'n.attempts',
        'n.lease_until',
        'r.opted_out_at',
        'o.tracking_token',
        'f.token as feedback_token',
      ])
      .where('n.id', 'in', claimedIds)
      .where('n.lease_owner', '=', this.#instanceId)
      .execute()) as Claimed[];
    for (const row of rows) {
      const attempt: Promise<void> = this.#attempt(row)
        .catch((error) => this.#logger.error({ err: error, notification: row.id }, 'notification attempt not recorded'))
        .finally(() => {
          this.#inFlight.delete(attempt);
          this.#poke();
        });
      this.#inFlight.add(attempt);
    }
    return rows.length;
  }

  /** Due, unleased notifications, oldest first; a feedback request only once its delay has passed. */
  async #candidates(now: number, capacity: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('notifications')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where('lease_until', '<=', now)
      .where((eb) =>
        eb.or([eb('kind', '!=', 'feedback_request'), eb('created_at', '<=', now - this.#settings.feedbackDelayMs)]),
      )
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(capacity)
      .execute();
    return rows.map((row) => row.id);
  }

  /** The atomic claim: only rows still free are taken; returns the ids this instance now holds. */
  async #claim(ids: string[], now: number, leaseUntil: number): Promise<string[]> {
    if (this.#dialect === 'postgres') {
      const result = await sql<{ id: string }>`
        update notifications set lease_until = ${leaseUntil}, lease_owner = ${this.#instanceId}
        where id in (
          select id from notifications
          where id in (${sql.join(ids)}) and status = 'pending' and lease_until <= ${now}
          for update skip locked
        ) and status = 'pending' and lease_until <= ${now}
        returning id`.execute(this.#db);
      return result.rows.map((row) => row.id);
    }
    const rows = await this.#db
      .updateTable('notifications')
      .set({ lease_until: leaseUntil, lease_owner: this.#instanceId })
      .where('id', 'in', ids)
      .where('status', '=', 'pending')
      .where('lease_until', '<=', now)
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  }

  async #attempt(row: Claimed): Promise<void> {
    const outcome = await this.#send(row);
    await this.#record(row, outcome);
  }

  /** Decides and, when there is something to send, sends; never throws for a provider's failure. */
  async #send(row: Claimed): Promise<Outcome> {
    if (row.opted_out_at !== null) {
      return { status: 'suppressed', error: 'the recipient opted out of this channel', reference: null };
    }
    const transport = row.channel === 'email' ? this.#mailer : row.channel === 'sms' ? this.#sms : undefined;
    if (!transport) {
      const what = row.channel === 'email' ? 'SMTP is not configured (HUB_SMTP_URL)' : 'no SMS provider (HUB_SMS_URL)';
      return { status: 'skipped', error: what, reference: null };
    }
    const kind = row.kind as NotificationKind;
    // Address and data are stored sealed under the customer's key and opened now (docs/operations.md, "Personal data").
    const vault = vaultOf(this.#db);
    const recipient = await vault.openText(this.#db, row.recipient);
    const stored = await vault.open<unknown>(this.#db, row.data_json);
    if (recipient === undefined || recipient === erased || stored === undefined || stored === null) {
      return { status: 'suppressed', error: "the customer's personal data was erased", reference: null };
    }
    const data = notificationDataSchema.parse(stored);
    const links = {
      brand: this.#brand,
      trackingUrl: `${this.#publicUrl}/track/${row.tracking_token ?? ''}`,
      unsubscribeUrl: `${this.#publicUrl}/unsubscribe/${row.recipient_token}`,
      ...(row.feedback_token ? { feedbackUrl: `${this.#publicUrl}/feedback/${row.feedback_token}` } : {}),
    };
    if (kind === 'feedback_request' && !row.feedback_token) {
      return { status: 'failed', error: 'the order has no feedback request', reference: null };
    }
    let result: SendOutcome;
    if (row.channel === 'email') {
      const content = renderEmail(kind, data, links);
      result = await (transport as Mailer).send({
        to: recipient,
        subject: content.subject,
        text: content.text,
        html: content.html,
        messageId: `<${row.id}@${this.#messageIdDomain}>`,
        headers: {
          // RFC 8058 one-click unsubscribe (mail clients POST `List-Unsubscribe=One-Click` to the URL).
          'List-Unsubscribe': `<${links.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          // RFC 3834: written by a machine; auto-responders should not answer it.
          'Auto-Submitted': 'auto-generated',
        },
      });
    } else {
      result = await (transport as SmsProvider).send({
        to: recipient,
        body: renderSms(kind, data, links),
        reference: row.id,
      });
    }
    if (result.ok) return { status: 'sent', error: null, reference: result.reference };
    const exhausted = row.attempts + 1 >= this.#settings.retryScheduleMs.length;
    return {
      status: result.permanent || exhausted ? 'failed' : 'pending',
      error: result.error,
      reference: null,
      ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
    };
  }

  /** The outcome and the next state, recorded only while this instance still holds the lease. */
  async #record(row: Claimed, outcome: Outcome): Promise<void> {
    const now = this.#nowMs();
    const attempted = outcome.status === 'sent' || outcome.status === 'failed' || outcome.status === 'pending';
    const attempts = row.attempts + (attempted ? 1 : 0);
    const final = outcome.status !== 'pending';
    const delay = outcome.retryAfterMs ?? jittered(this.#settings.retryScheduleMs[attempts] ?? 0);
    const updated = await this.#db
      .updateTable('notifications')
      .set({
        status: outcome.status,
        attempts,
        next_attempt_at: final ? now : now + delay,
        lease_until: 0,
        lease_owner: null,
        last_error: outcome.error,
        provider_reference: outcome.reference,
        completed_at: final ? now : null,
      })
      .where('id', '=', row.id)
      .where('lease_owner', '=', this.#instanceId)
      .where('lease_until', '=', row.lease_until)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      this.#logger.warn({ notification: row.id }, 'notification lease lost before its outcome was recorded');
      return;
    }
    const fields = { notification: row.id, kind: row.kind, channel: row.channel, attempts };
    // A server's refusal often quotes the address: the log gets the reason without it (the row keeps it all).
    const error = outcome.error?.replace(/[^\s<>@"]+@[^\s<>@"]+/g, '<address>');
    if (outcome.status === 'sent') this.#logger.info(fields, 'notification sent');
    else if (outcome.status === 'pending')
      this.#logger.warn({ ...fields, error, retryInMs: delay }, 'notification not sent; will retry');
    else if (outcome.status === 'failed') this.#logger.warn({ ...fields, error }, 'notification failed');
    else this.#logger.debug({ ...fields, status: outcome.status }, 'notification not sent');
  }
}

/** A retry delay spread by ± the jitter fraction, so messages that failed together retry apart. */
function jittered(delayMs: number): number {
  const spread = delayMs * limits.notificationRetryJitterFraction;
  return Math.max(0, Math.round(delayMs - spread + Math.random() * 2 * spread));
}

/** The right side of Message-IDs: the sender's domain, else the public URL's host. */
function messageIdDomain(mailFrom: string | undefined, publicUrl: string): string {
  const domain = mailFrom?.match(/@([A-Za-z0-9.-]+)>?\s*$/)?.[1];
  if (domain) return domain.toLowerCase();
  try {
    return new URL(publicUrl).hostname || 'dovetail.invalid';
  } catch {
    return 'dovetail.invalid';
  }
}
