import { limits, reserveRequestSchema } from '@dovetail/shared';
import { TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';
import type { Context as HonoContext, Next } from 'hono';
import { asApiError, toErrorResponse } from './errors.ts';
import { restContext } from './rest.ts';
import { holdsRouter, takeHold } from './routers/holds.ts';
import { type HubDeps, type HubMeta, guard, recordDenial } from './trpc.ts';

/** What the procedure declares: the route takes its permission from there, never its own. */
const permission = (holdsRouter.reserve._def.meta as HubMeta | undefined)?.permission;

/**
 * `POST /api/v1/inventory/reserve` without the REST→tRPC bridge: the checkout hot path.
 * The generic bridge (http/rest.ts) proxies a Request and a Node-like response through
 * trpc-to-openapi for every call; measured, that cost more than the hold itself. This route calls the
 * procedure's own parts directly — the `guard` every protected procedure runs (authentication, the
 * per-client budget, the shared policy table's permission named by the procedure's meta, the token's
 * scope), the procedure's input schema and its body (`takeHold`) — while `meta.openapi` keeps the
 * route in the OpenAPI document. Errors become the one
 * body `{error: {code, message, details}}` through the same `toErrorResponse` the bridge's formatter
 * uses, with the same headers.
 *
 * It answers only the plain case and passes everything else on (`next()`) to the `/api/v1/*` chain
 * (body limit middleware, then the generic REST handler), which answers it exactly as before: a body
 * without a `content-length` (or with `transfer-encoding`), empty, or over `limits.requestBodyBytesMax` (the
 * body limit's own header test, made here before anything reads the body, so the middleware still
 * answers 413), a body that is not JSON by content type, a token in the query string, and any
 * request with `Idempotency-Key` (its claim / replay / completion lives in rest.ts only).
 * app.ts registers it before the `/api/v1/*` body limit: that middleware touches `Request.body`,
 * which makes @hono/node-server build a full WHATWG Request (stream, AbortController) per call.
 */
export function createReserveRoute(deps: HubDeps) {
  return async function reserveRoute(c: HonoContext, next: Next): Promise<Response | undefined> {
    const length = Number.parseInt(c.req.header('content-length') ?? '', 10);
    const plain =
      length > 0 &&
      length <= limits.requestBodyBytesMax &&
      c.req.header('transfer-encoding') === undefined &&
      c.req.header('idempotency-key') === undefined &&
      c.req.header('content-type')?.includes('application/json') === true &&
      c.req.query('access_token') === undefined;
    if (!plain) {
      await next();
      return undefined;
    }
    let input: unknown;
    try {
      input = JSON.parse(await c.req.text());
    } catch (cause) {
      return errorResponse(new TRPCError({ code: 'PARSE_ERROR', message: 'Failed to parse request body', cause }));
    }
    const context = await restContext(c, deps);
    try {
      // The procedure's own steps without tRPC's per-call middleware machinery (measured ~15% of a
      // hold's CPU, mostly copying the context): the same guard, the same input schema, the same body.
      const principal = guard(context, permission);
      const parsed = reserveRequestSchema.safeParse(input);
      if (!parsed.success) throw new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
      const output = await takeHold({ ...context, principal }, parsed.data);
      return new Response(JSON.stringify(output), {
        status: context.response.status ?? 200,
        headers: { ...context.response.headers, 'content-type': 'application/json' },
      });
    } catch (cause) {
      await recordDenial(context, 'holds.reserve', input, cause);
      const error = asApiError(cause) ?? getTRPCErrorFromUnknown(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        deps.logger.error({ err: error.cause ?? error, reqId: context.requestId }, 'unhandled error in a REST route');
      return errorResponse(error);
    }
  };
}

/** Like the bridge: an error carries its own headers (WWW-Authenticate, Retry-After, the budget on 429) and no others. */
function errorResponse(error: TRPCError): Response {
  const { status, body, headers } = toErrorResponse(error);
  return new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } });
}
