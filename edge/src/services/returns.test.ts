import { verifyEdgeDatabase } from './verify.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChangeApplier } from '../sync/apply-changes.ts';
import { type TestEdge, startTestEdge, stopTestEdge } from '../test-support/node.ts';

/**
 * Receiving a return at the edge, with no hub at all: the hub's `return.authorized` change makes it
 * expected; one receipt records the `return_restock` events and the `return_received` fact, in that
 * order, in the one upstream stream; more than authorized is refused and changes nothing.
 */
let edge: TestEdge;
let token: string;
const returnId = '0193f1a2-7c3d-7e4f-8a5b-6c7d8e9f0a1b';

beforeEach(async () => {
  edge = await startTestEdge();
  token = await edge.login();
  const apply = createChangeApplier(edge.db, edge.desk, edge.book, () => 1_000);
  edge.db.transaction(() =>
    apply({
      seq: 1,
      kind: 'return.authorized',
      payload: {
        returnId,
        number: 'DT-0000-002W-R1',
        orderId: 'order-1',
        orderNumber: 'DT-0000-002W',
        lines: [{ sku: 'SOFA-1', quantity: 3 }],
        note: null,
      },
    }),
  )();
});
afterEach(() => stopTestEdge(edge));

const receive = (lines: unknown[], key?: string) =>
  edge.call('POST', `/api/v1/returns/${returnId}/receive`, {
    token,
    body: { lines },
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });

describe('returns at the edge', () => {
  it('lists an authorized return as expected and receives it: restocked and damaged on hand, missing not', async () => {
    const listed = await edge.call('GET', '/api/v1/returns?status=expected', { token });
    expect(((await listed.json()) as { items: Array<{ id: string }> }).items.map((item) => item.id)).toEqual([
      returnId,
    ]);
    const lines = [
      { sku: 'SOFA-1', quantity: 1, disposition: 'restock', bin: 'R-01' },
      { sku: 'SOFA-1', quantity: 1, disposition: 'damaged' },
      { sku: 'SOFA-1', quantity: 1, disposition: 'missing' },
    ];
    const first = await receive(lines, 'rma-1');
    expect(first.status).toBe(201);
    const again = await receive(lines, 'rma-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const stock = (await (await edge.call('GET', '/api/v1/stock/SOFA-1', { token })).json()) as Record<string, number>;
    expect(stock).toMatchObject({ onHand: 2, damaged: 1, available: 1 });
    const view = (await (await edge.call('GET', `/api/v1/returns/${returnId}`, { token })).json()) as {
      status: string;
    };
    expect(view.status).toBe('received');
    const outbox = edge.db.prepare('SELECT seq, event FROM outbox ORDER BY seq').all() as Array<{ event: string }>;
    expect(outbox.map((row) => (JSON.parse(row.event) as { type: string }).type)).toEqual([
      'return_restock',
      'return_restock',
      'return_received',
    ]);
    expect(verifyEdgeDatabase(edge.db).ok).toBe(true);
  });

  it('refuses more than was authorized and changes nothing', async () => {
    const over = await receive([
      { sku: 'SOFA-1', quantity: 2, disposition: 'restock' },
      { sku: 'SOFA-1', quantity: 2, disposition: 'damaged' },
    ]);
    expect(over.status).toBe(409);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('exceeds_authorized');
    const other = await receive([{ sku: 'CHAIR-1', quantity: 1, disposition: 'restock' }]);
    expect(other.status).toBe(409);
    expect(edge.db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    const partial = await receive([{ sku: 'SOFA-1', quantity: 2, disposition: 'restock' }]);
    expect(partial.status).toBe(201);
    const rest = await receive([{ sku: 'SOFA-1', quantity: 2, disposition: 'restock' }]);
    expect(((await rest.json()) as { error: { code: string } }).error.code).toBe('exceeds_authorized');
  });
});
