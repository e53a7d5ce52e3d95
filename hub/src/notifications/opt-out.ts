import type { NotificationChannel } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

/** Tokens are base64url; anything else opens nothing (one answer for every such token). */
const tokenPattern = /^[A-Za-z0-9_-]{22,64}$/;

export type OptOutView = { channel: NotificationChannel; optedOut: boolean };

/** What an unsubscribe token stands for (a channel, and whether it already opted out): no address. */
export async function optOutStatus(db: Kysely<Database>, token: string): Promise<OptOutView | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  const row = await db
    .selectFrom('notification_recipients')
    .select(['channel', 'opted_out_at'])
    .where('token', '=', token)
    .executeTakeFirst();
  return row ? { channel: row.channel as NotificationChannel, optedOut: row.opted_out_at !== null } : undefined;
}

/**
 * `POST /unsubscribe/{token}` (RFC 8058 one-click, or the page's button): the recipient opts out of
 * that channel. Idempotent: the first opt-out's time is kept. Notifications still waiting to be sent
 * to them on it are suppressed by the worker; later ones are recorded suppressed.
 */
export async function optOut(db: Kysely<Database>, token: string, nowMs: number): Promise<OptOutView | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  await db
    .updateTable('notification_recipients')
    .set({ opted_out_at: nowMs })
    .where('token', '=', token)
    .where('opted_out_at', 'is', null)
    .execute();
  return optOutStatus(db, token);
}
