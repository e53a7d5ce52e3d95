import { operationGenerators } from '@dovetail/shared/openapi-fuzz';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';
import { edgeStateDigest } from '../test-support/state-digest.ts';
import { edgeOpenApiDocument } from './openapi.ts';

/**
 * Schemathesis-style, with fast-check: requests generated from the edge's OpenAPI document for
 * every operation go to a real edge node (in-process, real SQLite file). It must never answer 5xx,
 * and every answer must be documented and match its schema: the test node's `call` checks that on
 * every response (test-support/node.ts). A request it refuses (4xx) must change nothing in its
 * database (`edgeStateDigest` before and after). Bounded: a few runs per operation.
 */
const runsPerOperation = Number(process.env['DOVETAIL_FUZZ_RUNS'] ?? 6);
/** An `Idempotency-Key` on two POSTs in three: a valid one, or one the edge must refuse. */
const idempotencyKeys = fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 12 })), { freq: 3 });

describe('generated requests against the edge', () => {
  let edge: TestEdge;
  let token: string;

  beforeAll(async () => {
    edge = await startTestEdge();
    token = await edge.login();
    const received = await edge.call('POST', '/api/v1/stock/receive', {
      token,
      body: { sku: 'FUZZ-1', quantity: 5 },
    });
    expect(received.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await stopTestEdge(edge);
  });

  const operations = operationGenerators(edgeOpenApiDocument(), { pathValues: ['FUZZ-1', 'lead'] });

  it('covers every documented operation', () => {
    expect(operations.length).toBeGreaterThan(20);
  });

  for (const { name, requests } of operations) {
    // Signing out would end the session the other runs use; it is covered by the session tests.
    if (name === 'POST /logout') continue;
    it(`${name}: no 5xx, every answer as documented`, async () => {
      await fc.assert(
        fc.asyncProperty(requests, idempotencyKeys, async (request, idempotencyKey) => {
          const keyed = idempotencyKey !== null && request.method === 'POST';
          const before = await edgeStateDigest(edge.db);
          const response = await edge.call(request.method, request.url, {
            ...(request.authenticated ? { token } : {}),
            ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
            ...(keyed ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
          });
          const text = await response.text();
          const described = `${request.method} ${request.url} → ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, described).toBeLessThan(500);
          if (response.status < 400) return;
          // A staff write the edge refused once it ran (unknown order, not enough stock) is kept under
          // its Idempotency-Key so a retry reads the same answer (services/idempotency.ts); a request
          // refused before it ran (bad input, not signed in, not allowed) leaves no row behind.
          const replayable = keyed && ![400, 401, 403, 413, 415].includes(response.status);
          const { idempotency: keysBefore, ...restBefore } = before;
          const { idempotency: keysAfter, ...restAfter } = await edgeStateDigest(edge.db);
          expect(restAfter, described).toEqual(restBefore);
          if (!replayable) expect(keysAfter, described).toBe(keysBefore);
        }),
        { numRuns: runsPerOperation, endOnFailure: true },
      );
    });
  }
});
