import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context as HonoContext } from 'hono';

/**
 * The address of the peer on the socket, what sign-in throttles and per-address budgets key on.
 * Requests made in-process (tests through `app.request`) have no socket and share `unknown`.
 * A proxy in front of the hub makes every caller one address: no forwarded header is trusted.
 */
export function clientAddress(c: HonoContext): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
