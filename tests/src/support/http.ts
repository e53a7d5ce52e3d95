import { setTimeout as sleep } from 'node:timers/promises';
import { OpenApiResponseValidator } from '@dovetail/shared/openapi-check';

const requestTimeoutMs = 15_000;

export type JsonResponse<T> = { status: number; headers: Headers; body: T };

/** One JSON request with a bounded wait; the body is parsed when the server sent JSON. */
export async function requestJson<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: string | object; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? requestTimeoutMs),
  });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('application/json');
  const body = (isJson && text ? JSON.parse(text) : text) as T;
  const validator = await validatorFor(baseUrl);
  const violation = validator?.check(
    method,
    new URL(`${baseUrl}${path}`).pathname,
    response.status,
    response.headers,
    body,
  );
  if (violation) throw new Error(`response differs from the OpenAPI document of ${baseUrl}: ${violation}`);
  return { status: response.status, headers: response.headers, body };
}

const validators = new Map<string, Promise<OpenApiResponseValidator | undefined>>();

/**
 * The OpenAPI document a hub or an edge serves at `/api/v1/openapi.json`, as a response check:
 * every `/api/v1` answer these tests receive from a real process is checked against it (status,
 * documented headers, body schema), so code and contract cannot drift apart unnoticed.
 */
function validatorFor(baseUrl: string): Promise<OpenApiResponseValidator | undefined> {
  let validator = validators.get(baseUrl);
  if (!validator) {
    validator = fetch(`${baseUrl}/api/v1/openapi.json`, { signal: AbortSignal.timeout(requestTimeoutMs) })
      .then(async (response) =>
        response.status === 200
          ? new OpenApiResponseValidator((await response.json()) as Record<string, unknown>)
          : undefined,
      )
      .catch(() => undefined);
    validator.then((found) => {
      // Not reachable yet (the process is starting): ask again next time.
      if (!found) validators.delete(baseUrl);
    });
    validators.set(baseUrl, validator);
  }
  return validator;
}

/** Polls GET /healthz until it answers 200; `gaveUp` returns a reason to stop early (the process died). */
export async function waitForHealthy(
  baseUrl: string,
  options: {
    timeoutMs: number;
    gaveUp?: () => string | undefined;
    /** GET a URL → its status; fetch by default (an https server with a test CA passes its own). */
    probe?: (url: string) => Promise<number>;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const reason = options.gaveUp?.();
    if (reason) throw new Error(reason);
    try {
      const status = options.probe
        ? await options.probe(`${baseUrl}/healthz`)
        : await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(async (response) => {
            await response.arrayBuffer();
            return response.status;
          });
      if (status === 200) return;
      last = `status ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`${baseUrl}/healthz did not answer 200 within ${options.timeoutMs} ms (${last})`);
}

/** POST /api/v1/login → the bearer token. */
export async function signIn(baseUrl: string, credentials: { username: string; password: string }): Promise<string> {
  const response = await requestJson<{ token?: string }>(baseUrl, 'POST', '/api/v1/login', { body: credentials });
  if (response.status !== 200 || typeof response.body.token !== 'string') {
    throw new Error(`login as ${credentials.username} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body.token;
}

/** Every entry of a SKU's ledger, oldest first, following nextCursor page by page. */
export async function readLedger<TEvent>(
  baseUrl: string,
  token: string,
  sku: string,
): Promise<Array<{ position: number; upstreamSeq: number | null; event: TEvent }>> {
  const entries: Array<{ position: number; upstreamSeq: number | null; event: TEvent }> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const query: string = `order=asc&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await requestJson<{ items: typeof entries; nextCursor: string | null }>(
      baseUrl,
      'GET',
      `/api/v1/stock/${encodeURIComponent(sku)}/history?${query}`,
      { token },
    );
    if (response.status !== 200)
      throw new Error(`history of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
    entries.push(...response.body.items);
    cursor = response.body.nextCursor;
    if (cursor === null) return entries;
  }
  throw new Error(`history of ${sku} did not end within 10,000 pages`);
}

/** Sum and count of a Prometheus histogram in /metrics text (no labels). */
export function histogramTotals(metricsText: string, name: string): { sum: number; count: number } {
  const value = (suffix: string) => {
    const match = new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(metricsText);
    return match ? Number(match[1]) : 0;
  };
  return { sum: value('sum'), count: value('count') };
}

/**
 * Cumulative bucket counts of a Prometheus histogram series in /metrics text, keyed by `le`,
 * for the series whose labels include every pair in `labels`.
 */
export function histogramBuckets(
  metricsText: string,
  name: string,
  labels: Record<string, string> = {},
): Map<number, number> {
  const buckets = new Map<number, number>();
  const pattern = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const match of metricsText.matchAll(pattern)) {
    const pairs = new Map(
      [...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1] as string, pair[2] as string]),
    );
    if (!Object.entries(labels).every(([key, value]) => pairs.get(key) === value)) continue;
    const le = pairs.get('le') === '+Inf' ? Number.POSITIVE_INFINITY : Number(pairs.get('le'));
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/**
 * The upper bound of the bucket holding quantile `q` of the observations made between two
 * snapshots of one histogram (Prometheus buckets only bound a quantile, they do not locate it).
 */
export function bucketQuantileBound(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return undefined;
  return bounds.find((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total);
}
