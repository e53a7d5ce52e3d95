import pg from 'pg';
import type { Logger } from 'pino';
import { type NotificationNotifier, notificationNotifyChannel } from './notifier.ts';

/**
 * On PostgreSQL, one connection per hub instance LISTENs for notifications committed by any instance
 * and wakes this instance's worker. If the connection drops it reconnects; the worker's poll covers.
 */
export async function listenForNotifications(
  url: string,
  notifier: NotificationNotifier,
  logger: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === notificationNotifyChannel) notifier.notify();
    });
    next.on('error', (error) => {
      logger.warn({ err: error.message }, 'notification LISTEN connection failed; reconnecting');
      next.end().catch(() => undefined);
      if (!stopped) retry = setTimeout(() => void connect().catch(() => undefined), 1_000);
    });
    await next.connect();
    await next.query(`LISTEN ${notificationNotifyChannel}`);
    client = next;
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
