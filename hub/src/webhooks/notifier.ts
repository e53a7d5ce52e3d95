import { EventEmitter } from 'node:events';

/**
 * Wakes the delivery worker when deliveries are committed. On SQLite (one hub process) emission
 * announces them in-process; on PostgreSQL `pg_notify` inside the emitting transaction reaches every
 * instance that LISTENs, at commit. The worker also polls, so a lost wake-up delays, never strands.
 */
export class WebhookNotifier {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  notify(): void {
    this.#emitter.emit('due');
  }

  subscribe(listener: () => void): () => void {
    this.#emitter.on('due', listener);
    return () => this.#emitter.off('due', listener);
  }
}

export const webhookNotifyChannel = 'dovetail_webhooks';

/** The process's notifier: a wake-up is a hint (a spurious one costs one claim query). */
export const webhookNotifier = new WebhookNotifier();
