import type { EdgeProcess } from '../support/edge-process.ts';
import { type JsonResponse, requestJson } from '../support/http.ts';
import { type HubOrder, readOrder } from '../support/storefront.ts';
import { waitUntil } from '../support/wait.ts';
import { warehouseId } from '../sync/world.ts';

/**
 * What the fulfillment scenarios share: the edge's pick list and staff actions over its REST API,
 * and the two sides' views of one partition, each read through the public API.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read the servers' answers loosely and assert on them.
export type Body = any;

export const waitTimeoutMs = 30_000;

export type EdgeStock = { onHand: number; picked: number; available: number; committed: number; bins: unknown };

/** GET /api/v1/stock/{sku} at the edge. */
export async function edgeStock(edge: EdgeProcess, token: string, sku: string): Promise<Body> {
  const response = await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/stock/${encodeURIComponent(sku)}`, { token });
  if (response.status !== 200)
    throw new Error(`edge stock of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** The hub's partition of `sku` at the test warehouse (every quantity of docs/architecture.md, "Quantities"). */
export async function hubPartition(hubUrl: string, token: string, sku: string): Promise<Body> {
  const response = await requestJson<Body>(hubUrl, 'GET', `/api/v1/inventory/${encodeURIComponent(sku)}`, { token });
  if (response.status !== 200)
    throw new Error(`hub inventory of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
  const partition = (response.body.warehouses as Body[]).find((entry) => entry.warehouseId === warehouseId);
  if (!partition)
    throw new Error(`the hub has no ${sku} partition at ${warehouseId}: ${JSON.stringify(response.body)}`);
  return partition;
}

/** Waits until the hub's replica of `sku` has `onHand` units (the edge's receive arrived). */
export function waitForHubOnHand(hubUrl: string, token: string, sku: string, onHand: number): Promise<Body> {
  let last: Body;
  return waitUntil(
    `the hub to see ${onHand} × ${sku} on hand`,
    async () => {
      last = await hubPartition(hubUrl, token, sku);
      return last.onHand === onHand ? last : undefined;
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** Waits until the hub shows the order in `status`; returns the order. */
export function waitForOrderStatus(hubUrl: string, token: string, orderId: string, status: string): Promise<HubOrder> {
  let last: HubOrder;
  return waitUntil(
    `order ${orderId} to reach ${status}`,
    async () => {
      last = await readOrder(hubUrl, token, orderId);
      return last.status === status ? last : undefined;
    },
    {
      timeoutMs: waitTimeoutMs,
      intervalMs: 100,
      describe: () =>
        JSON.stringify({ status: last?.status, history: last?.history, fulfillments: last?.fulfillments }),
    },
  );
}

/** Waits until the edge's pick list (`?status=…`) holds the fulfillment order of `orderId`; returns it. */
export function waitForPickListEntry(
  edge: EdgeProcess,
  token: string,
  orderId: string,
  status = 'active',
): Promise<Body> {
  let last: Body;
  return waitUntil(
    `order ${orderId} on the edge's pick list (${status})`,
    async () => {
      const response = await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments?status=${status}&limit=100`, {
        token,
      });
      if (response.status !== 200)
        throw new Error(`pick list answered ${response.status}: ${JSON.stringify(response.body)}`);
      last = response.body;
      return (response.body.items as Body[]).find((item) => item.orderId === orderId);
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** Waits until the edge holds the fulfillment order in `status` (GET /fulfillments/{id}). */
export function waitForEdgeFulfillment(
  edge: EdgeProcess,
  token: string,
  fulfillmentId: string,
  status: string,
): Promise<Body> {
  let last: Body;
  return waitUntil(
    `fulfillment ${fulfillmentId} to be ${status} at the edge`,
    async () => {
      const response = await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments/${fulfillmentId}`, { token });
      last = response.body;
      return response.status === 200 && response.body.status === status ? response.body : undefined;
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** POST /api/v1/fulfillments/{id}/{action} as staff, with an optional Idempotency-Key. */
export function fulfill(
  edge: EdgeProcess,
  token: string,
  fulfillmentId: string,
  action: 'pick' | 'pack' | 'ship',
  body: object | string,
  idempotencyKey?: string,
): Promise<JsonResponse<Body>> {
  return requestJson<Body>(
    edge.baseUrl,
    'POST',
    `/api/v1/fulfillments/${encodeURIComponent(fulfillmentId)}/${action}`,
    {
      token,
      body,
      ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
    },
  );
}

export const parcel = { weightGrams: 48_000, lengthMm: 2_300, widthMm: 1_000, heightMm: 900 };

/** Pick everything on the order (one scan per line), pack it in one parcel, ship it; each must answer 201. */
export async function pickPackShip(
  edge: EdgeProcess,
  token: string,
  fulfillmentId: string,
  lines: ReadonlyArray<{ sku: string; quantity: number }>,
  shipment: { carrier: string; trackingNumber: string },
): Promise<void> {
  for (const line of lines)
    await expect201(
      `pick ${line.sku}`,
      fulfill(edge, token, fulfillmentId, 'pick', { sku: line.sku, quantity: line.quantity }),
    );
  await expect201('pack', fulfill(edge, token, fulfillmentId, 'pack', { packages: [parcel] }));
  await expect201('ship', fulfill(edge, token, fulfillmentId, 'ship', shipment));
}

export async function expect201(what: string, response: Promise<JsonResponse<Body>>): Promise<Body> {
  const { status, body } = await response;
  if (status !== 201) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** POST /api/v1/stock/receive at the edge (201 expected). */
export function receive(edge: EdgeProcess, token: string, sku: string, quantity: number, bin = 'A-01'): Promise<Body> {
  return expect201(
    `receive ${quantity} × ${sku}`,
    requestJson<Body>(edge.baseUrl, 'POST', '/api/v1/stock/receive', { token, body: { sku, quantity, bin } }),
  );
}

/** Waits until the edge lists return `returnId` as expected (the hub's authorization arrived). */
export function waitForExpectedReturn(edge: EdgeProcess, token: string, returnId: string): Promise<Body> {
  let last: Body;
  return waitUntil(
    `return ${returnId} expected at the edge`,
    async () => {
      const listed = await requestJson<Body>(edge.baseUrl, 'GET', '/api/v1/returns?status=expected&limit=100', {
        token,
      });
      last = listed.body;
      return (listed.body.items as Body[]).find((item) => item.id === returnId);
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** POST /api/v1/returns/{id}/receive at the edge (201 expected), with an Idempotency-Key. */
export function receiveReturn(
  edge: EdgeProcess,
  token: string,
  returnId: string,
  lines: ReadonlyArray<{ sku: string; quantity: number; disposition: 'restock' | 'damaged' | 'missing'; bin?: string }>,
): Promise<Body> {
  return expect201(
    `receive return ${returnId}`,
    requestJson<Body>(edge.baseUrl, 'POST', `/api/v1/returns/${encodeURIComponent(returnId)}/receive`, {
      token,
      body: { lines },
      headers: { 'idempotency-key': `rma-${returnId}` },
    }),
  );
}
