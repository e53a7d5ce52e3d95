/**
 * Transport rules the hub and the edge both follow (docs/operations.md, "TLS"): HTTPS when given a
 * certificate and key, plain HTTP as the loopback/development default, said so at start-up, and
 * HSTS only on answers that went over TLS.
 */

/** `Strict-Transport-Security` on every answer served over TLS: browsers keep to HTTPS for a year. */
export const strictTransportSecurity = 'max-age=31536000';

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * Wraps a server's `fetch` so every answer carries `Strict-Transport-Security`. Only for a server
 * that listens with TLS: the header means nothing (and is ignored) on plain HTTP.
 */
export function withStrictTransportSecurity<Rest extends unknown[]>(
  fetch: (request: Request, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => {
    const response = await fetch(request, ...rest);
    try {
      response.headers.set('strict-transport-security', strictTransportSecurity);
      return response;
    } catch {
      // Immutable headers (a Response.redirect or a proxied fetch answer): copy them onto a new answer.
      const headers = new Headers(response.headers);
      headers.set('strict-transport-security', strictTransportSecurity);
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }
  };
}

/**
 * What a server says at start-up about its transport: HTTPS, or plain HTTP — fine on loopback
 * (development), a warning on any other address, where tokens and data would cross the network in
 * the clear. `flags` names how to turn TLS on (e.g. `--tls-cert FILE --tls-key FILE`).
 */
export function transportNotice(
  host: string,
  tls: boolean,
  flags: string,
): { level: 'info' | 'warn'; message: string } {
  if (tls) return { level: 'info', message: 'serving HTTPS (TLS), with Strict-Transport-Security' };
  if (isLoopbackHost(host)) {
    return {
      level: 'info',
      message: `serving plain HTTP on loopback (the development default); give ${flags} to serve HTTPS`,
    };
  }
  return {
    level: 'warn',
    message: `serving plain HTTP on ${host}, which other machines reach: tokens and data cross the network unencrypted; give ${flags} (or put a TLS-terminating proxy in front)`,
  };
}
