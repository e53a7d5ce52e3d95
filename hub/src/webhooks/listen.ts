import pg from 'pg';
import type { Logger } from 'pino';
import { type WebhookNotifier, webhookNotifyChannel } from './notifier.ts';

/**
 * On PostgreSQL, one connection per hub instance LISTENs for deliveries committed by any instance
 * and wakes this instance's worker. If the connection drops it reconnects; the worker's poll covers.
 */
export async function listenForDeliveries(
  url: string,
  notifier: WebhookNotifier,
  logger: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  // One channel for the database: an instance on another schema that wakes for nothing costs one query.
  const channel = webhookNotifyChannel;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === channel) notifier.notify();
    });
    next.on('error', (error) => {
      logger.warn({ err: error.message }, 'webhook LISTEN connection failed; reconnecting');
      next.end().catch(() => undefined);
      if (!stopped) retry = setTimeout(() => void connect().catch(() => undefined), 1_000);
    });
    await next.connect();
    await next.query(`LISTEN ${channel}`);
    client = next;
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
