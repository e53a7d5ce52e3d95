import { operationGenerators } from '@dovetail/shared/openapi-fuzz';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';
import { hubStateDigest } from '../testing/state-digest.ts';
import { openApiDocument } from './openapi.ts';
import { appRouter } from './root.ts';

/**
 * Schemathesis-style, with fast-check: requests generated from the OpenAPI document for every
 * operation go to a real hub (in-process, real SQLite). It must never answer 5xx, and every answer
 * must be documented for its path and method and match its schema: `call` checks that on every
 * response (testing/harness.ts). A request it refuses (4xx) must change nothing in its database
 * (`hubStateDigest` before and after). Bounded: a few runs per operation.
 */
const runsPerOperation = Number(process.env['DOVETAIL_FUZZ_RUNS'] ?? 6);
/** An `Idempotency-Key` on two POSTs in three: a valid one, or one the hub must refuse. */
const idempotencyKeys = fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 12 })), { freq: 3 });

describe('generated requests against the hub', () => {
  let hub: TestHub;
  let token: string;
  const samples: string[] = [];

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    token = await adminToken(hub);
    const warehouse = await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'FUZZ', name: 'Fuzz', kind: 'warehouse', country: 'NL', ownership: 'api' },
    });
    const product = await call(hub, 'POST', '/api/v1/products', {
      token,
      body: {
        name: 'Fuzz sofa',
        category: 'sofa',
        material: 'wool',
        basePrice: 1000,
        currency: 'EUR',
        variants: [{ sku: 'FUZZ-1', options: {} }],
      },
    });
    samples.push('FUZZ', 'FUZZ-1', ...(product.body?.id ? [product.body.id as string] : []));
    expect([201, 400]).toContain(warehouse.status);
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  const operations = operationGenerators(openApiDocument(appRouter));

  it('covers every documented operation', () => {
    expect(operations.length).toBeGreaterThan(60);
  });

  for (const { name, requests } of operations) {
    it(`${name}: no 5xx, every answer as documented`, async () => {
      await fc.assert(
        fc.asyncProperty(requests, idempotencyKeys, async (request, idempotencyKey) => {
          const keyed = idempotencyKey !== null && request.method === 'POST';
          const before = await hubStateDigest(hub.storage);
          const response = await call(hub, request.method, request.url, {
            ...(request.authenticated ? { token } : {}),
            ...(request.body !== undefined ? { body: request.body } : {}),
            ...(keyed ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
          });
          const described = `${request.method} ${request.url} → ${response.status} ${JSON.stringify(response.body)}`;
          expect(response.status, described).toBeLessThan(500);
          // After a few signing-key rotations the hub no longer accepts the old token, by design.
          if (request.url.startsWith('/api/v1/keys/rotate') && response.status < 300) token = await adminToken(hub);
          if (response.status < 400) return;
          // A business refusal (409, 412, 422) under an Idempotency-Key is kept so a retry replays
          // it (http/rest.ts); anything else refused, bad input above all, leaves no row behind.
          const replayable = keyed && [409, 412, 422].includes(response.status);
          const { idempotency_keys: keysBefore, ...restBefore } = before;
          const { idempotency_keys: keysAfter, ...restAfter } = await hubStateDigest(hub.storage);
          expect(restAfter, described).toEqual(restBefore);
          if (!replayable) expect(keysAfter, described).toBe(keysBefore);
        }),
        { numRuns: runsPerOperation, endOnFailure: true },
      );
    });
  }
});
