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
});
