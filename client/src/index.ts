/**
 * `@dovetail/client`: a typed tRPC client for the Dovetail hub (docs/architecture.md, "Clients").
 * It signs in with OAuth client credentials at the hub's `/oauth/token`, keeps the access token,
 * fetches a new one shortly before it expires, and once more when the hub answers 401 (a key
 * rotation, a restart with other keys), then retries that request.
 */
import type { AppProcedures } from '@dovetail/hub';
import { type TRPCClient, createTRPCClient, httpBatchLink } from '@trpc/client';
import type {
  TRPCBuiltRouter,
  TRPCDecorateCreateRouterOptions,
  TRPC_ERROR_CODE_KEY,
  TRPC_ERROR_CODE_NUMBER,
} from '@trpc/server';

/** The hub's error body (hub/src/http/errors.ts): `{error: {code, message, details}}`, as REST sends it. */
export type HubApiError = { code: string; message: string; details?: unknown };

/** How the hub shapes tRPC errors (its errorFormatter in hub/src/http/trpc.ts). */
export type HubErrorShape = {
  message: string;
  code: TRPC_ERROR_CODE_NUMBER;
  data: { code: TRPC_ERROR_CODE_KEY; httpStatus: number; apiError: HubApiError };
};

/**
 * The hub's tRPC router as a client sees it: every procedure with its input and output types, and
 * the hub's error shape. The server-side context (database handles, keys) is left out, so the
 * declarations stand alone.
 */
export type AppRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: HubErrorShape; transformer: false },
  TRPCDecorateCreateRouterOptions<AppProcedures>
>;

export type DovetailClientOptions = {
  /** The hub's address, e.g. `https://hub.example.com` (tRPC at `/trpc`, tokens at `/oauth/token`). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Ask for fewer scopes than the client's role grants (space-separated). */
  scope?: string;
  /** Fetch a new token this long before the current one expires (default 60 s). */
  refreshBeforeExpirySeconds?: number;
  /** The fetch to use (default: the global one); tests and proxies pass their own. */
  fetch?: typeof globalThis.fetch;
  /** The clock, in milliseconds (default `Date.now`). */
  nowMs?: () => number;
};

export type DovetailClient = TRPCClient<AppRouter> & {
  /** The current access token, fetching or refreshing it when needed. */
  accessToken(): Promise<string>;
};

/** The hub refused the client's credentials or answered `/oauth/token` with something else than a token. */
export class DovetailTokenError extends Error {
  override name = 'DovetailTokenError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

type Token = { value: string; refreshAtMs: number };

/** Client credentials → a bearer token, kept and refreshed; concurrent callers share one request. */
class TokenSource {
  readonly #options: DovetailClientOptions;
  readonly #fetch: typeof globalThis.fetch;
  readonly #nowMs: () => number;
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;

  constructor(options: DovetailClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  async get(): Promise<string> {
    const token = this.#token;
    if (token && this.#nowMs() < token.refreshAtMs) return token.value;
    return (await this.#fetchToken()).value;
  }

  /** Drops `rejected` (the token a 401 answered) unless a newer one already replaced it. */
  invalidate(rejected: string): void {
    if (this.#token?.value === rejected) this.#token = undefined;
  }

  #fetchToken(): Promise<Token> {
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #request(): Promise<Token> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.#options.clientId,
      client_secret: this.#options.clientSecret,
    });
    if (this.#options.scope !== undefined) form.set('scope', this.#options.scope);
    const startedMs = this.#nowMs();
    const response = await this.#fetch(new URL('/oauth/token', this.#options.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    const body = (await response.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown }
      | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      const code = typeof body?.error === 'string' ? body.error : undefined;
      const detail = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new DovetailTokenError(
        `the hub refused a token for ${this.#options.clientId} (${response.status} ${code ?? ''}${detail})`,
        response.status,
        code,
      );
    }
    const lifetimeSeconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
    const marginSeconds = Math.min(this.#options.refreshBeforeExpirySeconds ?? 60, lifetimeSeconds / 2);
    const token = { value: body.access_token, refreshAtMs: startedMs + (lifetimeSeconds - marginSeconds) * 1000 };
    this.#token = token;
    return token;
  }
}

/**
 * A tRPC client for the hub at `url`, authenticated as the API client `clientId`:
 *
 * ```ts
 * const hub = createDovetailClient({ url: 'https://hub.example.com', clientId, clientSecret });
 * const hold = await hub.holds.reserve.mutate({ lines: [{ sku: 'SOFA-OSLO-3S-GREY', quantity: 1 }] });
 * ```
 */
export function createDovetailClient(options: DovetailClientOptions): DovetailClient {
  const tokens = new TokenSource(options);
  const baseFetch = options.fetch ?? globalThis.fetch;
  // One retry on 401 with a fresh token: the hub may have rotated its keys or restarted.
  const authorizedFetch = async (
    input: Parameters<typeof globalThis.fetch>[0],
    init?: RequestInit,
  ): Promise<Response> => {
    const send = async (token: string) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return baseFetch(input, { ...init, headers });
    };
    const token = await tokens.get();
    const response = await send(token);
    if (response.status !== 401) return response;
    tokens.invalidate(token);
    return send(await tokens.get());
  };
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: new URL('/trpc', options.url).toString(),
        fetch: authorizedFetch as typeof globalThis.fetch,
      }),
    ],
  });
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'accessToken') return () => tokens.get();
      return Reflect.get(target, property, receiver);
    },
  }) as DovetailClient;
}
