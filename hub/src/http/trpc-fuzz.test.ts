import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { payloadFor } from '@dovetail/shared/openapi-fuzz';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';
import { hubStateDigest } from '../testing/state-digest.ts';
import { appRouter } from './root.ts';
import type { HubMeta } from './trpc.ts';

/**
 * Every tRPC procedure of the hub, with inputs drawn from the procedure's own zod input schema
 * (`z.toJSONSchema`, then the generator the OpenAPI fuzz uses: mostly valid, sometimes any JSON),
 * sent over real HTTP to `/trpc` as the storefront sends them: a query as GET with `?input=`, a
 * mutation as POST, alone or batched, with the admin's token, a customer-service session's, none,
 * or a forged one. The hub must never answer 5xx; every error must come in tRPC's envelope carrying
 * the hub's own `{code, message, details}` and no stack; and a call the hub refuses must change
 * nothing in its database (`hubStateDigest`). Bounded: `DOVETAIL_FUZZ_RUNS` calls per procedure.
 */
const runsPerProcedure = Number(process.env['DOVETAIL_FUZZ_RUNS'] ?? 6);

type Procedure = { _def: { type: 'query' | 'mutation' | 'subscription'; inputs: z.ZodType[]; meta?: HubMeta } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Procedure>).map(
  ([path, procedure]) => {
    const [input] = procedure._def.inputs;
    const schema = input
      ? (z.toJSONSchema(input, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>)
      : ({ type: 'null' } as Record<string, unknown>);
    return { path, type: procedure._def.type, inputs: payloadFor(schema) };
  },
);

type Bearer = 'admin' | 'limited' | 'none' | 'forged';
const bearers: fc.Arbitrary<Bearer> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('admin' as const) },
  { weight: 2, arbitrary: fc.constant('limited' as const) },
  { weight: 1, arbitrary: fc.constant('none' as const) },
  { weight: 1, arbitrary: fc.constant('forged' as const) },
);

/** tRPC's error shape as the hub formats it (trpc.ts, errorFormatter): the API error inside. */
const apiErrorSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  details: z.unknown().optional(),
});
const errorEnvelopeSchema = z.strictObject({
  error: z.strictObject({
    message: z.string(),
    code: z.number().int(),
    data: z.strictObject({
      code: z.string(),
      httpStatus: z.number().int().min(400).max(499),
      apiError: apiErrorSchema,
    }),
  }),
});
const resultEnvelopeSchema = z.strictObject({ result: z.object({ data: z.unknown().optional() }) });
const oneAnswerSchema = z.union([resultEnvelopeSchema, errorEnvelopeSchema]);

/** No stack trace, file path or source line anywhere in what a caller sees. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\n\s+at |"stack"|node_modules|\/src\/[\w/-]+\.ts/);
}

describe('every tRPC procedure with generated inputs, over HTTP', () => {
  let hub: TestHub;
  let server: http.Server;
  let base: string;
  let token: string;
  /** A customer-service person's session: what the policy refuses it is answered 403. */
  let limited: string;
  const unhandled: unknown[] = [];
  /** How many calls were answered, by status: the generator must reach both answers and refusals. */
  const statuses = new Map<number, number>();
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    hub = await startTestHub('sqlite');
    server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    token = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/staff', {
      token,
      body: { username: 'cs', password: 'customer-service-pw', role: 'customer_service', warehouses: [] },
    });
    await signIn();
    // Something for generated ids to hit now and then.
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'FUZZ', name: 'Fuzz', kind: 'warehouse', location: { lat: 52, lon: 4 } },
    });
    await call(hub, 'POST', '/api/v1/products', {
      token,
      body: { name: 'Fuzz sofa', category: 'sofa', basePrice: 1000, currency: 'EUR', variants: [{ sku: 'FUZZ-1' }] },
    });
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await hub?.dispose();
  });

  /** Fresh tokens: after a few signing-key rotations the hub no longer accepts the old ones, by design. */
  async function signIn(): Promise<void> {
    token = await adminToken(hub);
    const session = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'cs', password: 'customer-service-pw' },
    });
    limited = session.body.token as string;
  }

  const headersFor = (bearer: Bearer): Record<string, string> =>
    bearer === 'admin'
      ? { authorization: `Bearer ${token}` }
      : bearer === 'limited'
        ? { authorization: `Bearer ${limited}` }
        : bearer === 'forged'
          ? { authorization: `Bearer ${token.slice(0, -6)}AAAAAA` }
          : {};

  /** Sends the calls (one, or a batch) and checks the answer; returns whether every call was refused. */
  async function send(
    calls: Array<{ path: string; type: string; input: unknown }>,
    bearer: Bearer,
  ): Promise<{ status: number; refused: boolean; text: string }> {
    const batch = calls.length > 1;
    const paths = calls.map((one) => one.path).join(',');
    const query = calls[0]?.type === 'query';
    const inputs = batch ? Object.fromEntries(calls.map((one, index) => [index, one.input])) : calls[0]?.input;
    const search = new URLSearchParams();
    if (batch) search.set('batch', '1');
    if (query && inputs !== undefined) search.set('input', JSON.stringify(inputs));
    const url = `${base}/${paths}${search.size > 0 ? `?${search}` : ''}`;
    const response = await fetch(url, {
      method: query ? 'GET' : 'POST',
      headers: { ...headersFor(bearer), ...(query ? {} : { 'content-type': 'application/json' }) },
      ...(query || inputs === undefined ? {} : { body: JSON.stringify(inputs) }),
    });
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const described = `${query ? 'GET' : 'POST'} ${decodeURIComponent(url)} ${bearer} → ${response.status} ${text.slice(0, 400)}`;
    expect(response.status, described).toBeLessThan(500);
    expectNoInternals(text);
    const body = JSON.parse(text) as unknown;
    const answers = batch ? z.array(oneAnswerSchema).length(calls.length).parse(body) : [oneAnswerSchema.parse(body)];
    for (const answer of answers) {
      if ('error' in answer && !batch) expect(answer.error.data.httpStatus, described).toBe(response.status);
    }
    if (calls.some((one, index) => one.path === 'clients.rotateSigningKey' && 'result' in (answers[index] ?? {})))
      await signIn();
    return { status: response.status, refused: answers.every((answer) => 'error' in answer), text: described };
  }

  it('covers every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThan(70);
    expect(procedures.every((procedure) => procedure.type === 'query' || procedure.type === 'mutation')).toBe(true);
  });

  for (const procedure of procedures) {
    it(`${procedure.path} (${procedure.type}): no 5xx, errors in the envelope, a refusal changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(procedure.inputs, bearers, async (input, bearer) => {
          const before = await hubStateDigest(hub.storage);
          const answer = await send([{ path: procedure.path, type: procedure.type, input }], bearer);
          if (answer.refused) expect(await hubStateDigest(hub.storage), answer.text).toEqual(before);
        }),
        { numRuns: runsPerProcedure, endOnFailure: true },
      );
    });
  }

  for (const type of ['query', 'mutation'] as const) {
    const ofType = procedures.filter((procedure) => procedure.type === type);
    const batches = fc.array(
      fc
        .constantFrom(...ofType)
        .chain((procedure) => procedure.inputs.map((input) => ({ path: procedure.path, type: procedure.type, input }))),
      { minLength: 2, maxLength: 4 },
    );
    it(`batched ${type} calls: each answered in its envelope, a refused batch changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(batches, bearers, async (calls, bearer) => {
          const before = await hubStateDigest(hub.storage);
          const answer = await send(calls, bearer);
          if (answer.refused) expect(await hubStateDigest(hub.storage), answer.text).toEqual(before);
        }),
        { numRuns: runsPerProcedure * 4, endOnFailure: true },
      );
    });
  }

  it('answers malformed tRPC requests with a 4xx in the envelope', async () => {
    const before = await hubStateDigest(hub.storage);
    const malformed: Array<[string, RequestInit]> = [
      [`${base}/catalog.list?input=%7Bnot-json`, {}],
      [`${base}/catalog.create`, { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } }],
      [`${base}/no.such.procedure`, {}],
      [`${base}/catalog.create`, {}],
      [`${base}/catalog.list`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }],
      [`${base}/catalog.list,catalog.get?batch=1&input=%5B1%2C2%5D`, {}],
    ];
    for (const [url, init] of malformed) {
      const response = await fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
      });
      const text = await response.text();
      expect(response.status, `${url} → ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${url} → ${text.slice(0, 300)}`).toBeLessThan(500);
      expectNoInternals(text);
    }
    expect(await hubStateDigest(hub.storage)).toEqual(before);
  });

  it('sees a change in the digest when a call succeeds (the check can fail)', async () => {
    const before = await hubStateDigest(hub.storage);
    const answer = await send(
      [
        {
          path: 'warehouses.create',
          type: 'mutation',
          input: { id: 'DIGEST', name: 'Digest', kind: 'store', location: { lat: 1, lon: 1 } },
        },
      ],
      'admin',
    );
    expect(answer.refused, answer.text).toBe(false);
    const after = await hubStateDigest(hub.storage);
    expect(after['warehouses']).not.toBe(before['warehouses']);
  });

  it('reached both accepted and refused calls, and left no unhandled rejection behind', () => {
    const accepted = [...statuses].filter(([status]) => status < 400).reduce((sum, [, count]) => sum + count, 0);
    const refused = [...statuses].filter(([status]) => status >= 400).reduce((sum, [, count]) => sum + count, 0);
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});

describe('text with a NUL character (found by the fuzz with any code point, on PostgreSQL)', () => {
  let hub: TestHub;
  let token: string;
  beforeAll(async () => {
    hub = await startTestHub('postgres');
    token = await adminToken(hub);
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  it('is refused (400 invalid_input naming the field; 401 at the token endpoint), and changes nothing', async () => {
    const before = await hubStateDigest(hub.storage);
    const refused: Array<[string, string, unknown, string]> = [
      [
        'POST',
        '/api/v1/warehouses',
        { id: 'WN', name: 'a\u0000b', kind: 'store', location: { lat: 1, lon: 1 } },
        'name',
      ],
      ['POST', '/api/v1/auth/login', { username: 'lead', password: 'pass\u0000word' }, 'password'],
      ['GET', '/api/v1/audit?actor=a%00b', undefined, 'actor'],
    ];
    for (const [method, path, body, field] of refused) {
      const response = await call(hub, method, path, { token, ...(body === undefined ? {} : { body }) });
      expect(response.status, `${method} ${path} → ${JSON.stringify(response.body)}`).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_input', details: { issues: [{ path: field }] } });
    }
    const trpc = await hub.app.request('/trpc/catalog.create', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Sofa',
        category: 'sofa',
        basePrice: 1,
        currency: 'EUR',
        description: 'x\u0000y',
        variants: [{ sku: 'NUL-1' }],
      }),
    });
    expect(trpc.status).toBe(400);
    expect(((await trpc.json()) as { error: { data: { apiError: unknown } } }).error.data.apiError).toMatchObject({
      code: 'invalid_input',
      details: { issues: [{ path: 'description' }] },
    });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'ad\u0000min',
      client_secret: 'x',
    });
    const oauth = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(oauth.status).toBe(401);
    expect(await oauth.json()).toMatchObject({ error: 'invalid_client' });
    const job = await call(hub, 'GET', '/api/v1/jobs/a%00b', { token });
    expect(job.status).toBe(404);
    const consoleSignIn = await hub.app.request('/ops/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a%00b&password=long-enough-password',
    });
    expect(consoleSignIn.status).toBe(400);
    expect(await hubStateDigest(hub.storage)).toEqual(before);
  });
});
