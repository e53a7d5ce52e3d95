import { TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, sofa, startTestHub } from '../testing/harness.ts';
import type { AppRouter } from './root.ts';

/** The storefront's view: the same procedures through a typed tRPC client at `/trpc`. */
describe('tRPC at /trpc', () => {
  let hub: TestHub;
  let token: string;

  const client = (bearer: string | undefined, batch = false) => {
    const options = {
      url: 'http://hub.test/trpc',
      headers: () => (bearer ? { authorization: `Bearer ${bearer}` } : {}),
      fetch: (input: string | URL | Request, init?: RequestInit) =>
        Promise.resolve(hub.app.request(String(input), init)),
    };
    return createTRPCClient<AppRouter>({ links: [batch ? httpBatchLink(options) : httpLink(options)] });
  };

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    token = await adminToken(hub);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('creates, reads, lists and updates products with typed inputs and outputs', async () => {
    const trpc = client(token);
    const created = await trpc.catalog.create.mutate({ ...sofa('TRPC-1'), category: 'sofa' });
    expect(created.version).toBe(1);
    const read = await trpc.catalog.get.query({ id: created.id });
    expect(read.variants.map((variant) => variant.sku)).toEqual(['TRPC-1', 'TRPC-1-SAND']);
    const page = await trpc.catalog.list.query({ category: 'sofa', limit: 10 });
    expect(page.items.some((item) => item.id === created.id)).toBe(true);
    const { variants: _variants, ...fields } = sofa('TRPC-1');
    const updated = await trpc.catalog.update.mutate({
      ...fields,
      category: 'sofa',
      id: created.id,
      expectedVersion: 1,
      basePrice: 1,
    });
    expect(updated.version).toBe(2);
    await expect(
      trpc.catalog.update.mutate({ ...fields, category: 'sofa', id: created.id, expectedVersion: 1 }),
    ).rejects.toMatchObject({
      data: { httpStatus: 412, apiError: { code: 'version_mismatch' } },
    });
    await expect(trpc.catalog.update.mutate({ ...fields, category: 'sofa', id: created.id })).rejects.toMatchObject({
      data: { httpStatus: 428 },
    });
  });

  it('applies the same authentication and policy as REST', async () => {
    const error = await client(undefined)
      .catalog.list.query({})
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);
    const login = await call(hub, 'POST', '/api/v1/staff', {
      token,
      body: { username: 'cs', password: 'customer-service-pw', role: 'customer_service', warehouses: [] },
    });
    expect(login.status).toBe(201);
    const session = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'cs', password: 'customer-service-pw' },
    });
    const readOnly = client(session.body.token as string);
    expect((await readOnly.catalog.list.query({})).items.length).toBeGreaterThan(0);
    await expect(readOnly.catalog.create.mutate({ ...sofa('TRPC-CS'), category: 'sofa' })).rejects.toMatchObject({
      data: { httpStatus: 403 },
    });
  });

  it('refuses unknown fields and names the field, with no stack in the error', async () => {
    const error = (await client(token)
      .catalog.create.mutate({ ...sofa('TRPC-STRICT'), category: 'sofa', costPrice: 5 } as never)
      .catch((caught: unknown) => caught)) as TRPCClientError<AppRouter>;
    expect(error.data?.httpStatus).toBe(400);
    expect(JSON.stringify(error.data)).toContain('costPrice');
    expect(JSON.stringify(error.data)).not.toContain('stack');
    expect(error.data).not.toHaveProperty('stack');
  });

  it('bounds batches: more than 20 calls in one request are refused', async () => {
    const paths = Array.from({ length: 21 }, () => 'catalog.list').join(',');
    const input = encodeURIComponent(
      JSON.stringify(Object.fromEntries(Array.from({ length: 21 }, (_, index) => [index, {}]))),
    );
    const response = await hub.app.request(`/trpc/${paths}?batch=1&input=${input}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(400);
    const batched = client(token, true);
    const results = await Promise.all([batched.catalog.list.query({}), batched.warehouses.list.query({})]);
    expect(results).toHaveLength(2);
  });

  it('counts every password guess packed into one batch: the lockout still comes', async () => {
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'BATCH', name: 'Batch', kind: 'store', location: { lat: 0, lon: 0 } },
    });
    const created = await call(hub, 'POST', '/api/v1/staff', {
      token,
      body: { username: 'guessed', password: 'the-real-password', role: 'warehouse_staff', warehouses: ['BATCH'] },
    });
    expect(created.status).toBe(201);
    const anonymous = client(undefined, true);
    const guesses = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        anonymous.staff.login.mutate({ username: 'guessed', password: `guess-${index}` }),
      ),
    );
    expect(guesses.every((guess) => guess.status === 'rejected')).toBe(true);
    const afterwards = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'guessed', password: 'the-real-password' },
    });
    expect(afterwards.status).toBe(429);
  });

  it('refuses a mutation without a JSON content type: 415', async () => {
    const response = await hub.app.request('/trpc/catalog.create', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: JSON.stringify(sofa('TRPC-415')),
    });
    expect(response.status).toBe(415);
  });

  it('sends no CORS headers to a hostile origin', async () => {
    const preflight = await hub.app.request('/api/v1/products', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await call(hub, 'GET', '/api/v1/products', { token, headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });
});
