import { DomainError, commonErrorCodes } from '@dovetail/shared';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { refusalAnswer } from '../services/idempotency.ts';

const realm = 'Bearer realm="dovetail-edge"';

/**
 * Where a failure becomes the edge's HTTP answer. Everything below `http/` and the HTTP layer
 * itself throw (or record) shared {@link DomainError}s: a kind, a stable code (the hub's words for
 * the failures both answer, `commonErrorCodes`), no status. Here a kind becomes its status (the
 * shared table, through `refusalAnswer`), the body `{error: {code, message, details}}`, and the
 * headers a client needs: `WWW-Authenticate` on a 401, `Retry-After` when a retry may succeed.
 */
export function errorResponse(c: Context, error: DomainError): Response {
  if (error.kind === 'unauthenticated') c.header('WWW-Authenticate', challenge(c, error));
  if (error.retryAfterSeconds !== undefined) c.header('Retry-After', String(error.retryAfterSeconds));
  const { status, body } = refusalAnswer(error);
  return c.json(body as object, status as ContentfulStatusCode);
}

/** RFC 6750 §3: a token in the URL is a malformed request; a bearer token that was sent is invalid. */
function challenge(c: Context, error: DomainError): string {
  if (error.code === commonErrorCodes.tokenInQuery) return `${realm}, error="invalid_request"`;
  if (/^Bearer /i.test(c.req.header('authorization') ?? '')) return `${realm}, error="invalid_token"`;
  return realm;
}

/** Anything else reaching `onError` is a bug: the caller logs it; the client gets a bare 500, no stack. */
export function internalErrorResponse(c: Context): Response {
  return errorResponse(
    c,
    new DomainError(
      'internal',
      commonErrorCodes.internal,
      'something went wrong on the edge; the request id is in X-Request-Id',
    ),
  );
}
