import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChangeApplier } from '../sync/apply-changes.ts';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';

/**
 * Receiving against a purchase order and a production request at the edge, with no hub at all
 * (docs/catalog.md, "Pre-orders and made-to-order"): the hub's changes make them expected; a receipt
 * is an ordinary `receive` scan whose reference names the request, in the one upstream stream; more
 * than expected, a SKU not on it, or a canceled one is refused and changes nothing.
 */
let edge: TestEdge;
let token: string;
let apply: ReturnType<typeof createChangeApplier>;

beforeEach(async () => {
  edge = await startTestEdge();
  token = await edge.login();
  apply = createChangeApplier(edge.db, edge.desk, edge.book, () => 1_000);
  edge.db.transaction(() => {
    apply({
      seq: 1,
      kind: 'purchase_order.opened',
      payload: {
        purchaseOrderId: 'po-1',
        supplier: 'Lund Works',
        expectedAt: 2_000,
        lines: [
          { sku: 'CHAIR-1', quantity: 4 },
          { sku: 'TABLE-1', quantity: 1 },
        ],
      },
    });
    apply({
      seq: 2,
      kind: 'production.requested',
      payload: {
        productionId: 'pr-1',
        orderId: 'order-1',
        orderNumber: 'DT-0000-002W',
        sku: 'SOFA-1',
        quantity: 1,
        configuration: { fabric: 'boucle', widthCm: 240 },
        dueAt: 3_000,
      },
    });
  })();
});
afterEach(() => stopTestEdge(edge));

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
const receive = (path: string, body: unknown, key?: string) =>
  edge.call('POST', `/api/v1/${path}/receive`, {
    token,
    body,
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });
const outbox = () =>
  edge.db
    .prepare<[], { event: string }>('SELECT event FROM outbox ORDER BY seq')
    .all()
    .map((row) => JSON.parse(row.event) as Record<string, unknown>);

describe('supply at the edge', () => {
  it('receives against a purchase order offline: a receive scan naming it, counted against its lines', async () => {
    const listed = await json(await edge.call('GET', '/api/v1/purchase-orders', { token }));
    expect(listed.items).toMatchObject([
      {
        id: 'po-1',
        kind: 'purchase_order',
        status: 'open',
        supplier: 'Lund Works',
        reference: 'po:po-1',
        lines: [
          { sku: 'CHAIR-1', quantity: 4, received: 0 },
          { sku: 'TABLE-1', quantity: 1, received: 0 },
        ],
      },
    ]);
    const first = await receive('purchase-orders/po-1', { sku: 'CHAIR-1', quantity: 3, bin: 'A-01' }, 'po-r1');
    expect(first.status).toBe(201);
    const again = await receive('purchase-orders/po-1', { sku: 'CHAIR-1', quantity: 3, bin: 'A-01' }, 'po-r1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(outbox()).toMatchObject([
      { type: 'receive', sku: 'CHAIR-1', quantity: 3, bin: 'A-01', reference: 'po:po-1' },
    ]);
    const stock = await json(await edge.call('GET', '/api/v1/stock/CHAIR-1', { token }));
    expect(stock).toMatchObject({ onHand: 3 });

    const over = await receive('purchase-orders/po-1', { sku: 'CHAIR-1', quantity: 2 });
    expect(over.status).toBe(409);
    expect(await json(over)).toMatchObject({ error: { code: 'over_receipt', details: { expected: 1 } } });
    const elsewhere = await receive('purchase-orders/po-1', { sku: 'SOFA-1', quantity: 1 });
    expect(elsewhere.status).toBe(409);
    expect(await json(elsewhere)).toMatchObject({ error: { code: 'sku_not_on_supply' } });
    const unknown = await receive('purchase-orders/po-9', { sku: 'CHAIR-1', quantity: 1 });
    expect(unknown.status).toBe(404);
    expect(outbox()).toHaveLength(1);

    expect((await receive('purchase-orders/po-1', { sku: 'CHAIR-1', quantity: 1 })).status).toBe(201);
    expect((await receive('purchase-orders/po-1', { sku: 'TABLE-1', quantity: 1 })).status).toBe(201);
    const done = await json(await edge.call('GET', '/api/v1/purchase-orders/po-1', { token }));
    expect(done).toMatchObject({ status: 'received', lines: [{ received: 4 }, { received: 1 }] });
    expect((await json(await edge.call('GET', '/api/v1/purchase-orders', { token }))).items).toEqual([]);
  });

  it('receives the finished units of a production request, and refuses a canceled one', async () => {
    const listed = await json(await edge.call('GET', '/api/v1/production', { token }));
    expect(listed.items).toMatchObject([
      {
        id: 'pr-1',
        kind: 'production',
        orderNumber: 'DT-0000-002W',
        reference: 'production:pr-1',
        lines: [{ sku: 'SOFA-1', quantity: 1, received: 0, configuration: { fabric: 'boucle', widthCm: 240 } }],
      },
    ]);
    expect((await receive('production/pr-1', { sku: 'SOFA-1', quantity: 1 })).status).toBe(201);
    expect(outbox()).toMatchObject([{ type: 'receive', sku: 'SOFA-1', reference: 'production:pr-1' }]);

    edge.db.transaction(() =>
      apply({ seq: 3, kind: 'purchase_order.canceled', payload: { purchaseOrderId: 'po-1' } }),
    )();
    const canceled = await receive('purchase-orders/po-1', { sku: 'CHAIR-1', quantity: 1 });
    expect(canceled.status).toBe(409);
    expect(await json(canceled)).toMatchObject({ error: { code: 'supply_canceled' } });
    // A purchase order is not a production request: each path names its own kind.
    expect((await edge.call('GET', '/api/v1/production/po-1', { token })).status).toBe(404);
  });
});
