import pg from 'pg';
import type { Logger } from 'pino';

/**
 * On PostgreSQL, one connection per hub instance LISTENs on a channel for NOTIFYs committed by any
 * instance and hands each payload to `onNotify` (which wakes that instance's senders or workers). If
 * the connection drops it reconnects after a second; meanwhile the callers' polling covers. Returns
 * the function that stops listening.
 */
export async function listenOnChannel(
  url: string,
  channel: string,
  onNotify: (payload: string | undefined) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload);
    });
    next.on('error', (error) => {
      logger.warn({ err: error.message, channel }, 'LISTEN connection failed; reconnecting');
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
