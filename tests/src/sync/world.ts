import { randomUUID } from 'node:crypto';
import { type Cleanup, runPool } from '../support/cleanup.ts';
import { type EdgeProcess, type EdgeProcessOptions, startEdgeProcess } from '../support/edge-process.ts';
import {
  type HubProcess,
  type HubProcessOptions,
  createHubProducts,
  enrollHubEdge,
  hubAdminToken,
  hubOnHand,
  startHubProcess,
} from '../support/hub-process.ts';
import { requestJson } from '../support/http.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * What the cross-process sync scenarios share: scans sent to a real edge over HTTP (each one
 * acknowledged with 201 or counted as not acknowledged), the edge's sync status, and the exact
 * per-SKU totals the hub must end up with.
 */

export const warehouseId = 'W1';

/** A hub process killed by the file's cleanup whatever happens. */
export async function startHub(cleanup: Cleanup, options: HubProcessOptions): Promise<HubProcess> {
  const hub = await startHubProcess(options);
  cleanup.add(`kill hub pid ${hub.pid}`, () => hub.kill());
  return hub;
}

/** An edge process killed by the file's cleanup whatever happens. */
export async function startEdge(cleanup: Cleanup, options: EdgeProcessOptions): Promise<EdgeProcess> {
  const edge = await startEdgeProcess({ warehouseId, ...options });
  cleanup.add(`kill edge pid ${edge.pid}`, () => edge.kill());
  return edge;
}

/** The catalog the scans use, warehouse W1 and its enrolled edge's credentials, on a fresh hub. */
export async function prepareHub(
  hubUrl: string,
  skus: readonly string[],
): Promise<{ admin: string; credentials: { clientId: string; clientSecret: string } }> {
  const admin = await hubAdminToken(hubUrl);
  await createHubProducts(hubUrl, admin, skus);
  return { admin, credentials: await enrollHubEdge(hubUrl, admin, warehouseId) };
}

export type Scan = { index: number; sku: string; quantity: number; key: string; body: string };
export type SyncStatus = {
  connected: boolean;
  pendingUpstream: number;
  upstreamAck: number;
  upstreamLastSeq: number;
  rejected: number;
  lastError: string | null;
};

/** Receives spread round-robin over `skus`, quantities 1..9, each with its own Idempotency-Key. */
export function makeScans(count: number, skus: readonly string[], first = 0): Scan[] {
  const tag = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, n) => {
    const index = first + n;
    const sku = skus[index % skus.length] as string;
    const quantity = 1 + ((index * 7) % 9);
    return {
      index,
      sku,
      quantity,
      key: `sync-${tag}-${index}`,
      body: JSON.stringify({ sku, quantity, reference: `sync-${index}` }),
    };
  });
}

export type ScanLog = { acknowledged: Map<number, Scan>; failures: string[] };

export function newScanLog(): ScanLog {
  return { acknowledged: new Map(), failures: [] };
}

/**
 * Sends every scan to the edge with at most `concurrency` in flight; a 201 is an acknowledged scan
 * (recorded in `log`), anything else is recorded as a failure. `afterEach` runs after every answer
 * (the scenarios use it to inject faults at a given count).
 */
export async function sendScans(
  edge: EdgeProcess,
  token: string,
  scans: readonly Scan[],
  log: ScanLog,
  options: { concurrency?: number; afterEach?: () => void } = {},
): Promise<void> {
  await runPool(scans, options.concurrency ?? 50, async (scan) => {
    try {
      const response = await requestJson(edge.baseUrl, 'POST', '/api/v1/stock/receive', {
        token,
        body: scan.body,
        headers: { 'idempotency-key': scan.key },
      });
      if (response.status === 201) log.acknowledged.set(scan.index, scan);
      else log.failures.push(`${scan.key}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
    } catch (error) {
      log.failures.push(`${scan.key}: ${(error as Error).message}`);
    }
    options.afterEach?.();
  });
}

/** Per SKU, the sum of the acknowledged scans' quantities: what both sides must hold, exactly. */
export function acknowledgedOnHand(log: ScanLog, skus: readonly string[]): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(skus.map((sku) => [sku, 0]));
  for (const scan of log.acknowledged.values()) totals[scan.sku] = (totals[scan.sku] ?? 0) + scan.quantity;
  return totals;
}

export async function edgeSyncStatus(edge: EdgeProcess, token: string): Promise<SyncStatus> {
  const response = await requestJson<SyncStatus>(edge.baseUrl, 'GET', '/api/v1/sync/status', {
    token,
    timeoutMs: 5_000,
  });
  if (response.status !== 200)
    throw new Error(`sync status answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** The edge's own on-hand per SKU (its ledger fold), for comparing with the hub's replica. */
export async function edgeOnHand(
  edge: EdgeProcess,
  token: string,
  skus: readonly string[],
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const sku of skus) {
    const response = await requestJson<{ onHand?: number }>(
      edge.baseUrl,
      'GET',
      `/api/v1/stock/${encodeURIComponent(sku)}`,
      { token },
    );
    if (response.status === 404) totals[sku] = 0;
    else if (response.status === 200 && typeof response.body.onHand === 'number') totals[sku] = response.body.onHand;
    else throw new Error(`edge stock of ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return totals;
}

export async function hubOnHandBySku(
  hubUrl: string,
  adminToken: string,
  skus: readonly string[],
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const sku of skus) totals[sku] = await hubOnHand(hubUrl, adminToken, sku, warehouseId);
  return totals;
}

/** Waits until the edge's outbox is empty and acked through its last seq; returns that status. */
export function waitForDrain(
  edge: EdgeProcess,
  token: string,
  options: { timeoutMs: number; lastSeq?: number },
): Promise<SyncStatus> {
  let last: SyncStatus | undefined;
  return waitUntil(
    'the edge outbox to drain',
    async () => {
      last = await edgeSyncStatus(edge, token);
      const drained = last.pendingUpstream === 0 && last.upstreamAck === last.upstreamLastSeq;
      return drained && (options.lastSeq === undefined || last.upstreamLastSeq === options.lastSeq) ? last : undefined;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 100,
      describe: () => `${JSON.stringify(last)}\nedge output:\n${edge.output().slice(-3000)}`,
    },
  );
}
