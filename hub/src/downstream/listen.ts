import pg from 'pg';
import type { Logger } from 'pino';
import { type DownstreamNotifier, downstreamNotifyChannel } from './notifier.ts';

/**
 * On PostgreSQL, one connection per hub instance LISTENs for appends made by any instance and wakes
 * this instance's senders. If the connection drops, it reconnects; meanwhile the senders' poll covers.
 */
export async function listenForAppends(
  url: string,
  notifier: DownstreamNotifier,
  logger: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === downstreamNotifyChannel && message.payload) notifier.notify(message.payload);
    });
    next.on('error', (error) => {
      logger.warn({ err: error.message }, 'LISTEN connection failed; reconnecting');
      next.end().catch(() => undefined);
      if (!stopped) retry = setTimeout(() => void connect().catch(() => undefined), 1_000);
    });
    await next.connect();
    await next.query(`LISTEN ${downstreamNotifyChannel}`);
    client = next;
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
