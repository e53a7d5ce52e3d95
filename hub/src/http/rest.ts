import type { AnyRouter, TRPCError } from '@trpc/server';
import type { Context as HonoContext } from 'hono';
import { createOpenApiFetchHandler } from 'trpc-to-openapi';
import { ApiError, toErrorResponse } from './errors.ts';
import { type RestRoute, restBasePath } from './openapi.ts';
import type { Context, HubDeps } from './trpc.ts';

type ErrorPayload = { data?: { apiError?: { code: string; message: string; details?: unknown } }; message?: string };

export function errorJson(c: HonoContext, error: ApiError): Response {
  const { status, body, headers } = toErrorResponse(error);
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
export function createRestHandler(router: AnyRouter, routes: RestRoute[], deps: HubDeps) {
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
      return errorJson(c, new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on ${path}`, { allow }, { allow }));
    }
    const context: Context = {
      deps,
      auth: await deps.authenticator.authenticate(c.req.header('authorization')),
      ifMatch: c.req.header('if-match'),
      response: { headers: {} },
    };
    const response = await createOpenApiFetchHandler({
      endpoint: restBasePath,
      router,
      req: c.req.raw,
      createContext: () => context,
      responseMeta: ({ errors }: { errors: TRPCError[] }) =>
        errors.length > 0 ? { headers: errorHeaders(errors) } : { status: context.response.status, headers: context.response.headers },
      onError: ({ error }: { error: TRPCError }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger.error({ err: error.cause ?? error, path }, 'unhandled error in a REST route');
      },
    } as never);
    if (response.status < 400) return response;
    const payload = (await response.json().catch(() => ({}))) as ErrorPayload;
    const apiError = payload.data?.apiError ?? { code: 'internal', message: 'internal error' };
    const headers = new Headers(response.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    return new Response(JSON.stringify({ error: apiError }), { status: response.status, headers });
  };
}
