import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The peer address on the socket: what sign-in throttles and hashing budgets key on. In-process
 * requests (tests through `app.request`) have no socket and share `unknown`. No forwarded header is
 * trusted: scanners reach the edge directly on the warehouse LAN.
 */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
