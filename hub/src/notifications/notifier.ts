import { EventEmitter } from 'node:events';
import { type Kysely, PostgresAdapter, type Transaction, sql } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Wakes the notification worker when notifications are committed: in-process on SQLite (one hub
 * process), by `pg_notify` at commit on PostgreSQL (every instance that LISTENs, notifications/listen.ts).
 * The worker also polls, so a lost wake-up delays a message, never strands it.
 */
export class NotificationNotifier {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  notify(): void {
    this.#emitter.emit('due');
  }

  subscribe(listener: () => void): () => void {
    this.#emitter.on('due', listener);
    return () => this.#emitter.off('due', listener);
  }
}

export const notificationNotifyChannel = 'dovetail_notifications';

/** The process's notifier: a wake-up is a hint (a spurious one costs one claim query). */
export const notificationNotifier = new NotificationNotifier();

/** At commit: PostgreSQL notifies every listening instance; on SQLite the one process wakes its worker. */
export async function wakeNotificationWorkers(trx: Transaction<Database> | Kysely<Database>): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${notificationNotifyChannel}, '')`.execute(trx);
  } else {
    // better-sqlite3 commits synchronously once the transaction's callback settles; the worker's
    // claim waits for Kysely's one connection anyway, so it reads the committed rows.
    setImmediate(() => notificationNotifier.notify());
  }
}
