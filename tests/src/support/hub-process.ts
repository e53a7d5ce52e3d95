import fs from 'node:fs';
import { requestJson } from './http.ts';
import { hubMain } from './paths.ts';
import { freePort } from './ports.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

/** The bootstrap admin secret every hub started here gets (`DOVETAIL_ADMIN_SECRET`). */
export const hubAdminSecret = 'sync-chaos-admin-secret-0123456789';

export type HubProcessOptions = {
  dataDir: string;
  /** A fixed port (a restart on the same address); a free one otherwise. */
  port?: number;
  /** pino level; `warn` keeps per-request logs out of the pipe. */
  logLevel?: string;
  /** `DATABASE_URL` + `DATABASE_SCHEMA` select PostgreSQL; SQLite in `dataDir` otherwise. */
  env?: Record<string, string>;
  /** Extra flags for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** Started with TLS (certificate and key by env): the CA its certificate chains to, for probing it. */
  ca?: Buffer;
};

export type HubProcess = ServerProcess & {
  dataDir: string;
  /** The separate metrics listener (`HUB_METRICS_PORT` on loopback): `${metricsUrl}/metrics`. */
  metricsUrl: string;
};

/**
 * Starts `node --import tsx hub/src/main.ts --port P --data DIR` as a real process in its own
 * process group, on SQLite unless `env` names a PostgreSQL database (an inherited DATABASE_URL is
 * cleared so the adapter is always the caller's choice). `stop()` is the hub's graceful SIGTERM.
 */
export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const metricsPort = await freePort();
  const server = await startServerProcess({
    name: 'hub',
    script: hubMain,
    args: ['--host', '127.0.0.1', '--data', options.dataDir],
    port: options.port,
    nodeArgs: options.nodeArgs,
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    ...(options.ca ? { ca: options.ca } : {}),
    env: {
      DOVETAIL_ADMIN_SECRET: hubAdminSecret,
      LOG_LEVEL: options.logLevel ?? 'warn',
      DATABASE_URL: '',
      DATABASE_SCHEMA: '',
      HUB_METRICS_PORT: String(metricsPort),
      ...options.env,
    },
  });
  return { ...server, dataDir: options.dataDir, metricsUrl: `http://127.0.0.1:${metricsPort}` };
}

/** POST /oauth/token with the bootstrap admin's client credentials → the bearer token. */
export async function hubAdminToken(hubUrl: string): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'admin',
    client_secret: hubAdminSecret,
  }).toString();
  const response = await requestJson<{ access_token?: string }>(hubUrl, 'POST', '/oauth/token', {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (response.status !== 200 || typeof response.body.access_token !== 'string') {
    throw new Error(`admin token answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body.access_token;
}

async function expectCreated(what: string, response: Promise<{ status: number; body: unknown }>): Promise<unknown> {
  const { status, body } = await response;
  if (status !== 201 && status !== 200) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** One sofa product per SKU (one variant each), in the hub's catalog. */
export async function createHubProducts(hubUrl: string, token: string, skus: readonly string[]): Promise<void> {
  for (const sku of skus) {
    await expectCreated(
      `product ${sku}`,
      requestJson(hubUrl, 'POST', '/api/v1/products', {
        token,
        body: {
          name: `Sofa ${sku}`,
          category: 'sofa',
          basePrice: 99_900,
          currency: 'EUR',
          variants: [{ sku, options: {} }],
        },
      }),
    );
  }
}

/** Creates warehouse `warehouseId` and enrolls an edge for it → the edge's client credentials. */
export async function enrollHubEdge(
  hubUrl: string,
  token: string,
  warehouseId: string,
): Promise<{ clientId: string; clientSecret: string }> {
  await expectCreated(
    `warehouse ${warehouseId}`,
    requestJson(hubUrl, 'POST', '/api/v1/warehouses', {
      token,
      body: {
        id: warehouseId,
        name: `Warehouse ${warehouseId}`,
        kind: 'warehouse',
        location: { lat: 52.37, lon: 4.89 },
      },
    }),
  );
  const body = (await expectCreated(
    `edge enrollment for ${warehouseId}`,
    requestJson(hubUrl, 'POST', `/api/v1/warehouses/${encodeURIComponent(warehouseId)}/edges`, { token, body: {} }),
  )) as { clientId?: string; clientSecret?: string };
  if (typeof body.clientId !== 'string' || typeof body.clientSecret !== 'string')
    throw new Error(`enrollment gave no credentials: ${JSON.stringify(body)}`);
  return { clientId: body.clientId, clientSecret: body.clientSecret };
}

/** The hub's on-hand of `sku` in one warehouse (0 when the hub has no stock row for it there). */
export async function hubOnHand(hubUrl: string, token: string, sku: string, warehouseId: string): Promise<number> {
  const response = await requestJson<{ onHand?: number; warehouses?: Array<{ warehouseId: string; onHand: number }> }>(
    hubUrl,
    'GET',
    `/api/v1/inventory/${encodeURIComponent(sku)}`,
    { token },
  );
  if (response.status === 404) return 0;
  if (response.status !== 200)
    throw new Error(`inventory of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.warehouses?.find((entry) => entry.warehouseId === warehouseId)?.onHand ?? 0;
}
