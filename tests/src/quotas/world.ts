import type { EdgeProcess } from '../support/edge-process.ts';
import { type JsonResponse, readLedger, requestJson } from '../support/http.ts';
import { waitUntil } from '../support/wait.ts';
import { type Body, edgeStock, waitTimeoutMs } from '../fulfillment/world.ts';

/**
 * What the quota and shortage scenarios share: a partition of the hub at any warehouse, the quota
 * admin calls, in-store sales at the edge, and waits on either side's view of one figure.
 */

/** The hub's partition of `sku` at `warehouseId` (every quantity of docs/architecture.md, "Quantities"), or undefined when it has none. */
export async function hubPartitionAt(
  hubUrl: string,
  token: string,
  sku: string,
  warehouseId: string,
): Promise<Body | undefined> {
  const response = await requestJson<Body>(hubUrl, 'GET', `/api/v1/inventory/${encodeURIComponent(sku)}`, { token });
  if (response.status !== 200)
    throw new Error(`hub inventory of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return (response.body.warehouses as Body[]).find((entry) => entry.warehouseId === warehouseId);
}

/** Polls the hub's partition until `accept` holds; returns it. */
export function waitForHubPartition(
  hubUrl: string,
  token: string,
  sku: string,
  warehouseId: string,
  what: string,
  accept: (partition: Body) => boolean,
): Promise<Body> {
  let last: Body;
  return waitUntil(
    `the hub's ${sku}@${warehouseId} partition: ${what}`,
    async () => {
      last = await hubPartitionAt(hubUrl, token, sku, warehouseId);
      return last !== undefined && accept(last) ? last : undefined;
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** Polls the edge's stock view of `sku` until `accept` holds; returns it. */
export function waitForEdgeStock(
  edge: EdgeProcess,
  token: string,
  sku: string,
  what: string,
  accept: (stock: Body) => boolean,
): Promise<Body> {
  let last: Body;
  return waitUntil(
    `the edge's ${sku}: ${what}`,
    async () => {
      last = await edgeStock(edge, token, sku);
      return accept(last) ? last : undefined;
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** A call that must answer `status`; returns the body. */
export async function expectStatus(what: string, status: number, response: Promise<JsonResponse<Body>>): Promise<Body> {
  const answer = await response;
  if (answer.status !== status)
    throw new Error(`${what} answered ${answer.status}, not ${status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** PUT /warehouses/{id}/quota-policy. */
export function setQuotaPolicy(
  hubUrl: string,
  token: string,
  warehouseId: string,
  policy: { defaultUnits: number; skus: Record<string, number> },
): Promise<Body> {
  return expectStatus(
    'quota policy',
    200,
    requestJson<Body>(hubUrl, 'PUT', `/api/v1/warehouses/${warehouseId}/quota-policy`, { token, body: policy }),
  );
}

/** POST /warehouses/{id}/quotas/rebalance → `{granted, returnsRequested}`. */
export function rebalance(hubUrl: string, token: string, warehouseId: string): Promise<Body> {
  return expectStatus(
    'rebalance',
    200,
    requestJson<Body>(hubUrl, 'POST', `/api/v1/warehouses/${warehouseId}/quotas/rebalance`, { token, body: {} }),
  );
}

/** POST /warehouses/{id}/quotas/{grant|return}, answered as it comes. */
export function quotaMove(
  hubUrl: string,
  token: string,
  warehouseId: string,
  move: 'grant' | 'return',
  sku: string,
  quantity: number,
): Promise<JsonResponse<Body>> {
  return requestJson<Body>(hubUrl, 'POST', `/api/v1/warehouses/${warehouseId}/quotas/${move}`, {
    token,
    body: { sku, quantity },
  });
}

/** POST /api/v1/stock/instore-sale at the edge, answered as it comes. */
export function instoreSale(
  edge: EdgeProcess,
  token: string,
  sku: string,
  quantity: number,
): Promise<JsonResponse<Body>> {
  return requestJson<Body>(edge.baseUrl, 'POST', '/api/v1/stock/instore-sale', { token, body: { sku, quantity } });
}

/** POST /api/v1/inventory/reserve at the hub (one line, pinned to a warehouse), answered as it comes. */
export function reserve(
  hubUrl: string,
  token: string,
  sku: string,
  quantity: number,
  warehouseId: string,
): Promise<JsonResponse<Body>> {
  return requestJson<Body>(hubUrl, 'POST', '/api/v1/inventory/reserve', {
    token,
    body: { lines: [{ sku, quantity }], warehouseId, ttlSeconds: 3_600 },
  });
}

/** The edge ledger's events of `sku` of one type, oldest first. */
export async function ledgerEvents(edge: EdgeProcess, token: string, sku: string, type: string): Promise<Body[]> {
  const entries = await readLedger<Body>(edge.baseUrl, token, sku);
  return entries.map((entry) => entry.event).filter((event) => event.type === type);
}
