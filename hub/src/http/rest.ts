import type { AnyRouter, TRPCError } from '@trpc/server';
import type { Context as HonoContext } from 'hono';
import { TRPCError as TrpcError } from '@trpc/server';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';
import { limits } from '@dovetail/shared';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  requestFingerprint,
} from '../idempotency/store.ts';
import { type DomainError, authorize, idempotencyKeySchema, invalidIdempotencyKey } from '@dovetail/shared';
import { clientAddress } from './client-address.ts';
import { notModified } from './conditional.ts';
import { ApiError, asApiError, toErrorResponse } from './errors.ts';
import { requestIdOf } from './observability.ts';
import { type RestRoute, restBasePath } from './openapi.ts';
import type { Context, HubDeps } from './trpc.ts';

type ErrorPayload = { data?: { apiError?: { code: string; message: string; details?: unknown } }; message?: string };

export function errorJson(c: HonoContext, error: ApiError | DomainError): Response {
  const { status, body, headers } = toErrorResponse(asApiError(error) ?? (error as ApiError));
  return c.json(body, status as 400, headers);
}

/** Headers an error asks for (WWW-Authenticate, Retry-After), on REST and tRPC alike. */
export function errorHeaders(errors: readonly TRPCError[]): Record<string, string> {
  const first = errors[0];
  return first ? toErrorResponse(first).headers : {};
}

/**
 * `/api/v1/*`: the REST surface generated from the tRPC procedures by trpc-to-openapi. This shell
 * adds what the generator does not: 404 vs 405 (with Allow) from the route table, refusing tokens in
 * the query string, and the one error body `{error: {code, message, details}}`.
 */
type NodeLikeResponse = {
  statusCode: number;
  setHeader(key: string, value: string | string[]): void;
  end(body?: string): void;
};

/**
 * trpc-to-openapi's own fetch adapter builds a new handler per request (outside production it also
 * regenerates the whole OpenAPI document to validate the router), which cost ~6 ms per call here.
 * This bridge builds the handler once and feeds it each Request the way that adapter does.
 */
function createBridge(router: AnyRouter, contexts: WeakMap<object, Context>) {
  const handler = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req }: { req: object }) => contexts.get(req),
    responseMeta: ({ ctx, errors }: { ctx?: Context; errors: TRPCError[] }) =>
      errors.length > 0
        ? { headers: errorHeaders(errors) }
        : { status: ctx?.response.status, headers: ctx?.response.headers ?? {} },
    onError: ({ error, ctx }: { error: TRPCError; ctx?: Context }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        ctx?.deps.logger.error({ err: error.cause ?? error, reqId: ctx.requestId }, 'unhandled error in a REST route');
      }
    },
  } as never) as unknown as (req: unknown, res: NodeLikeResponse) => Promise<void>;

  return async function handle(
    request: Request,
    url: string,
    bodyText: string | undefined,
    context: Context,
  ): Promise<Response> {
    let body: { ok: true; data: unknown } | { ok: false; cause: unknown } = { ok: true, data: undefined };
    if (bodyText !== undefined) {
      try {
        body = { ok: true, data: bodyText ? JSON.parse(bodyText) : undefined };
      } catch (cause) {
        body = { ok: false, cause };
      }
    }
    // A bodiless POST (`/keys/rotate`, `/clients/{id}/revoke`) is an empty JSON object, not a 415.
    const headers = new Headers(request.headers);
    if (bodyText === '' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const proxy = new Proxy(request, {
      get(target, property) {
        if (property === 'url') return url;
        if (property === 'headers') return headers;
        if (property === 'body') {
          if (!body.ok)
            throw new TrpcError({ code: 'PARSE_ERROR', message: 'Failed to parse request body', cause: body.cause });
          // The generator spreads the body into the input, so `null`, `5` or `[]` would read as `{}`.
          if (
            body.data !== undefined &&
            (typeof body.data !== 'object' || body.data === null || Array.isArray(body.data))
          )
            throw new ApiError(400, 'invalid_input', 'the request body must be a JSON object', {
              issues: [{ path: '(body)', message: 'expected a JSON object', code: 'invalid_type' }],
            });
          return body.data;
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    contexts.set(proxy, context);
    return new Promise<Response>((resolve, reject) => {
      const headers = new Headers();
      const response: NodeLikeResponse = {
        statusCode: 200,
        setHeader(key, value) {
          if (typeof value === 'string') headers.set(key, value);
          else for (const item of value) headers.append(key, item);
        },
        end(text) {
          resolve(new Response(text ?? null, { status: this.statusCode, headers }));
        },
      };
      handler(proxy, response).catch(reject);
    });
  };
}

/**
 * `/api/v1/*`: the REST surface generated from the tRPC procedures by trpc-to-openapi. This shell
 * adds what the generator does not: 404 vs 405 (with Allow) from the route table, refusing tokens in
 * the query string, and the one error body `{error: {code, message, details}}`.
 */
/** A procedure's context for one REST request: its caller (from the bearer token), If-Match, request id. */
export async function restContext(c: HonoContext, deps: HubDeps): Promise<Context> {
  return {
    deps,
    auth: await deps.authenticator.authenticate(c.req.header('authorization')),
    ifMatch: c.req.header('if-match'),
    response: { headers: {} },
    requestId: requestIdOf(c),
    source: clientAddress(c),
  };
}

export function createRestHandler(router: AnyRouter, routes: RestRoute[], deps: HubDeps) {
  const bridge = createBridge(router, new WeakMap());
  return async function restHandler(c: HonoContext): Promise<Response> {
    const url = new URL(c.req.url);
    const path = url.pathname.slice(restBasePath.length) || '/';
    if (url.searchParams.has('access_token')) {
      return errorJson(
        c,
        new ApiError(401, 'token_in_query', 'send the token in the Authorization header, never in the URL', undefined, {
          'www-authenticate': 'Bearer realm="dovetail", error="invalid_request"',
        }),
      );
    }
    const matching = routes.filter((route) => route.pattern.test(path));
    if (matching.length === 0) return errorJson(c, new ApiError(404, 'not_found', `no route ${path}`));
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (!matching.some((route) => route.method === method)) {
      const allow = [...new Set(matching.map((route) => route.method))].join(', ');
      return errorJson(
        c,
        new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on ${path}`, { allow }, { allow }),
      );
    }
    const route = matching.find((candidate) => candidate.method === method)!;
    const context = await restContext(c, deps);
    url.pathname = path;
    const contentType = c.req.header('content-type');
    const bodyText =
      contentType?.includes('application/json') || (contentType === undefined && method !== 'GET')
        ? await c.req.text()
        : undefined;
    if (contentType === undefined && bodyText) {
      return errorJson(c, new ApiError(415, 'unsupported_media_type', 'send content-type: application/json'));
    }
    const run = async () =>
      notModified(c.req.raw, await toRestResponse(await bridge(c.req.raw, url.toString(), bodyText, context)));

    const idempotencyKey = c.req.header('idempotency-key');
    if (!route.idempotent) return run();
    if (idempotencyKey === undefined) {
      // Required only of a caller the route would serve: others get their 401 or 403 as usual.
      const principal = context.auth?.ok ? context.auth.principal : undefined;
      const permitted =
        principal !== undefined &&
        route.permission !== 'public' &&
        authorize(principal, route.permission).ok &&
        principal.scopes.has(route.permission);
      if (!route.idempotencyRequired || !permitted) return run();
      return errorJson(
        c,
        new ApiError(400, 'idempotency_key_required', 'this operation needs an Idempotency-Key header'),
      );
    }
    if (!idempotencyKeySchema.safeParse(idempotencyKey).success) return errorJson(c, invalidIdempotencyKey());
    if (!context.auth?.ok) return run(); // refused before any effect: nothing to remember
    const scope = `${context.auth.principal.kind}:${context.auth.principal.subject}`;
    const fingerprint = requestFingerprint(method, path, bodyText);
    const claim = await claimIdempotencyKey(deps.db, scope, idempotencyKey, fingerprint, deps.nowMs());
    if (claim.kind === 'mismatch') {
      return errorJson(
        c,
        new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request'),
      );
    }
    if (claim.kind === 'in_flight') {
      return errorJson(
        c,
        new ApiError(409, 'idempotency_key_in_flight', 'a request with this Idempotency-Key is still being processed'),
      );
    }
    if (claim.kind === 'replay') {
      return new Response(claim.response.body, {
        status: claim.response.status,
        headers: { ...claim.response.headers, 'idempotent-replayed': 'true' },
      });
    }
    let response: Response;
    try {
      response = await run();
    } catch (error) {
      await releaseIdempotencyKey(deps.db, scope, idempotencyKey);
      throw error;
    }
    const text = await response.text();
    // Outcomes are kept (success and business refusals); requests that had no effect are forgotten.
    const keep =
      (response.status < 400 || [409, 412, 422].includes(response.status)) &&
      text.length <= limits.idempotencyResponseBytesMax;
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'etag', 'location', 'cache-control']) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    if (keep)
      await completeIdempotencyKey(deps.db, scope, idempotencyKey, { status: response.status, body: text, headers });
    else await releaseIdempotencyKey(deps.db, scope, idempotencyKey);
    return new Response(text, { status: response.status, headers: response.headers });
  };
}

/** Success passes through; any error becomes the one body `{error: {code, message, details}}`. */
async function toRestResponse(response: Response): Promise<Response> {
  if (response.status < 400) return response;
  const payload = (await response.json().catch(() => ({}))) as ErrorPayload;
  const apiError = payload.data?.apiError ?? { code: 'internal', message: 'internal error' };
  const headers = new Headers(response.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  return new Response(JSON.stringify({ error: apiError }), { status: response.status, headers });
}
