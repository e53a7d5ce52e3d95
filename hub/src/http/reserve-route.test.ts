import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { limits } from '@dovetail/shared';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../identity/secrets.ts';
import { type Hub, createHub } from '../hub.ts';
import { restBasePath, restRoutes } from './openapi.ts';
import { createRestHandler } from './rest.ts';
import { appRouter } from './root.ts';
import { adminSecret, adminToken, call, clientToken, sofa } from '../testing/harness.ts';
import { createReserveRoute } from './reserve-route.ts';

/**
 * The lean `POST /api/v1/inventory/reserve` answers exactly as the generic REST bridge does (status,
 * body, the headers clients read), and passes on to it whatever it does not handle itself.
 */
const path = `${restBasePath}/inventory/reserve`;
const passedOn = 599;
let directory: string;
let hub: Hub;
let admin: string;
let clock: number;
/** Only the lean route; anything it passes on is answered 599. */
let lean: Hono;
/** Only the generic bridge, as app.ts mounts it for every other route. */
let generic: Hono;

type Sent = { status: number; body: unknown; headers: Record<string, string> };

async function send(
  app: Hono,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; query?: string },
): Promise<Sent> {
  const text = options.rawBody ?? (options.body === undefined ? '' : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...options.headers,
  };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  const response = await app.request(`${path}${options.query ?? ''}`, { method: 'POST', headers, body: text });
  const responseText = await response.text();
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'www-authenticate', 'retry-after', 'ratelimit-policy']) {
    const value = response.headers.get(name);
    if (value !== null) kept[name] = value;
  }
  // The budget left moves on with every call: compare that it is there, not its value.
  if (response.headers.has('ratelimit'))
    kept['ratelimit'] = response.headers.get('ratelimit')?.replace(/remaining=\d+/, 'remaining=n') ?? '';
  let body: unknown = responseText;
  try {
    body = JSON.parse(responseText);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: kept };
}

/** A hold's id and timestamps differ between two holds taken; everything else must not. */
const comparable = (sent: Sent) =>
  sent.status === 201 ? { ...sent, body: { ...(sent.body as object), id: 'id' } } : sent;

async function openHub(rateLimit?: { perSecond: number; burst: number }): Promise<void> {
  hub = await createHub({
    storage: { kind: 'sqlite', file: join(directory, 'hub.db') },
    adminSecret,
    nowMs: () => clock,
    ...(rateLimit ? { rateLimit } : {}),
  });
  admin = await adminToken(hub);
  expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
  await call(hub, 'POST', '/api/v1/warehouses', {
    token: admin,
    body: { id: 'TPL-1', name: '3PL', kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
  });
  expect(
    (await call(hub, 'PUT', '/api/v1/warehouses/TPL-1/inventory/SOFA-1', { token: admin, body: { onHand: 5 } })).status,
  ).toBe(200);
  lean = new Hono();
  lean.post(path, createReserveRoute(hub.deps));
  lean.all('*', (c) => c.json({ passedOn: true }, passedOn as 200));
  generic = new Hono();
  generic.all(`${restBasePath}/*`, createRestHandler(appRouter, restRoutes(appRouter), hub.deps));
}

async function tokenFor(role: string, scope?: string): Promise<string> {
  await hub.storage.db
    .insertInto('api_clients')
    .values({
      id: `probe-${role}`,
      name: role,
      role,
      warehouses_json: JSON.stringify(['TPL-1']),
      secret_hash: hashClientSecret(adminSecret),
      epoch: 1,
      revoked_at: null,
      created_at: clock,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return clientToken(hub, `probe-${role}`, adminSecret, scope);
}

beforeEach(async () => {
  clock = Date.parse('2026-11-23T12:00:00Z');
  directory = mkdtempSync(join(tmpdir(), 'dovetail-reserve-route-'));
});
afterEach(async () => {
  await hub.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('the lean reserve route', () => {
  it('answers every outcome as the generic REST bridge does', async () => {
    await openHub();
    const storefront = await tokenFor('storefront');
    const cases: Array<{ name: string; token?: string; body?: unknown; rawBody?: string }> = [
      { name: 'a hold', token: admin, body: { lines: [{ sku: 'SOFA-1', quantity: 1 }], ttlSeconds: 60 } },
      { name: 'a storefront hold', token: storefront, body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] } },
      { name: 'insufficient stock', token: admin, body: { lines: [{ sku: 'SOFA-1', quantity: 4 }] } },
      { name: 'an unknown SKU', token: admin, body: { lines: [{ sku: 'NOPE-1', quantity: 1 }] } },
      { name: 'a bad quantity', token: admin, body: { lines: [{ sku: 'SOFA-1', quantity: 0 }] } },
      { name: 'an unknown field', token: admin, body: { lines: [{ sku: 'SOFA-1', quantity: 1 }], reserved: 0 } },
      {
        name: 'a repeated SKU',
        token: admin,
        body: {
          lines: [
            { sku: 'SOFA-1', quantity: 1 },
            { sku: 'SOFA-1', quantity: 1 },
          ],
        },
      },
      { name: 'not JSON', token: admin, rawBody: '{"lines": [' },
      { name: 'no token', body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] } },
      { name: 'a forged token', token: 'not.a.token', body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] } },
      {
        name: 'a role without inventory.reserve',
        token: await tokenFor('3pl'),
        body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] },
      },
      {
        name: 'a token without the scope',
        token: await tokenFor('storefront', 'inventory.read'),
        body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] },
      },
    ];
    for (const { name, ...request } of cases) {
      const viaLean = await send(lean, request);
      expect(viaLean.status, name).not.toBe(passedOn);
      const viaGeneric = await send(generic, request);
      expect(comparable(viaLean), name).toEqual(comparable(viaGeneric));
    }
    // Both paths took their holds: 1 + 1 units each.
    expect((await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: admin })).body.reserved).toBe(4);
  });

  it('charges the same per-client budget and refuses with the same 429', async () => {
    await openHub({ perSecond: 1, burst: 3 });
    const body = { lines: [{ sku: 'SOFA-1', quantity: 1 }] };
    // admin's token request and the setup calls spent the burst: both paths are refused alike.
    const viaLean = await send(lean, { token: admin, body });
    const viaGeneric = await send(generic, { token: admin, body });
    expect(viaLean.status).toBe(429);
    expect(viaLean).toEqual(viaGeneric);
    expect(viaLean.headers['retry-after']).toBeDefined();
  });

  it('passes on what it does not handle itself: Idempotency-Key, a token in the query, no, zero or too large a length, not JSON', async () => {
    await openHub();
    const body = { lines: [{ sku: 'SOFA-1', quantity: 1 }] };
    const passes = [
      await send(lean, { token: admin, body, headers: { 'idempotency-key': 'cart-1' } }),
      await send(lean, { token: admin, body, query: '?access_token=x' }),
      await send(lean, { token: admin, body, headers: { 'content-length': String(limits.requestBodyBytesMax + 1) } }),
      await send(lean, { token: admin, body, headers: { 'content-type': 'text/plain' } }),
      await send(lean, { token: admin, body, headers: { 'transfer-encoding': 'chunked' } }),
      await send(lean, { token: admin, rawBody: '' }),
    ];
    expect(passes.map((sent) => sent.status)).toEqual(Array(passes.length).fill(passedOn));
    // Through the whole app, those still get the generic answers.
    const app = hub.app;
    const oversized = 'x'.repeat(limits.requestBodyBytesMax + 1);
    const tooLarge = await send(app as Hono, { token: admin, rawBody: oversized });
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const replayed = await send(app as Hono, { token: admin, body, headers: { 'idempotency-key': 'cart-1' } });
    const again = await send(app as Hono, { token: admin, body, headers: { 'idempotency-key': 'cart-1' } });
    expect(replayed.status).toBe(201);
    expect(again.body).toEqual(replayed.body);
  });

  it('is in the OpenAPI document, from the procedure', async () => {
    await openHub();
    const document = await call(hub, 'GET', `${restBasePath}/openapi.json`);
    expect(document.body.paths['/inventory/reserve'].post).toBeDefined();
  });
});
