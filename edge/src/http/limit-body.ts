import { DomainError, commonErrorCodes } from '@dovetail/shared';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * Refuses bodies over `maxBytes` with 413. A declared `Content-Length` is checked from the header
 * alone; only a chunked body is counted as it streams (Hono's bodyLimit). Hono's middleware touches
 * `request.body` on every request, which makes @hono/node-server build a full web Request: on the
 * scan path that cost more than the SQLite commit, so the common case avoids it.
 */
export function limitBody(options: { maxBytes: number }): MiddlewareHandler {
  const tooLarge = () => {
    throw new DomainError(
      'payload_too_large',
      commonErrorCodes.payloadTooLarge,
      `the body exceeds ${options.maxBytes} bytes`,
    );
  };
  const streaming = bodyLimit({ maxSize: options.maxBytes, onError: tooLarge });
  return async function limitBodyMiddleware(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d{1,15}$/.test(declared) || Number(declared) > options.maxBytes) tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}
