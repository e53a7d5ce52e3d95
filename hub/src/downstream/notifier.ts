import { EventEmitter } from 'node:events';

/**
 * Wakes the socket senders when a downstream log grows. On SQLite (one hub process) appends are
 * announced in-process; on PostgreSQL `pg_notify` inside the appending transaction is delivered at
 * commit to every instance that LISTENs, so it does not matter which instance wrote the change.
 * Senders also poll on a slow timer, so a lost wake-up delays a change but never strands it.
 */
export class DownstreamNotifier {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  notify(channel: string): void {
    this.#emitter.emit('append', channel);
  }

  subscribe(listener: (channel: string) => void): () => void {
    this.#emitter.on('append', listener);
    return () => this.#emitter.off('append', listener);
  }
}

export const downstreamNotifyChannel = 'dovetail_downstream';

/** The process's notifier: wake-ups are hints (a spurious one costs one read), so one per process is enough. */
export const downstreamNotifier = new DownstreamNotifier();
