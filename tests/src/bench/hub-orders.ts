import { createHub } from '@dovetail/hub';
import { insertGeneratedOrders } from '@dovetail/hub/testing';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { type Bench, type BenchResult, formatNumber } from './bench.ts';

const orderCount = 100_000;
const requestsPerFilter = 400;
const targetP99Ms = 20;
const adminSecret = 'bench-admin-secret-0123456789abcdef';

/** The filtered pages customer service asks for, each a page of 50 newest first. */
const filters = [
  'status=shipped',
  'warehouseId=BER&status=delivered',
  'email=customer42@example.com',
  'createdFrom=2026-01-20T00:00:00Z&createdTo=2026-02-01T00:00:00Z',
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * `GET /api/v1/orders` over 100,000 orders in the hub's SQLite file (WAL, synchronous=FULL): each
 * filter's first page and a page deep into it by cursor, through the hub's HTTP app in-process (the
 * routing, auth, validation and query path; no socket), one request at a time.
 */
export const hubOrdersBench: Bench = {
  name: 'hub order lookup (GET /api/v1/orders over 100,000 orders, SQLite)',
  async run(): Promise<BenchResult> {
    const directory = createTempDir('dovetail-bench-orders-');
    const hub = await createHub({ storage: { kind: 'sqlite', file: `${directory}/hub.db` }, adminSecret });
    try {
      const insertStartedMs = performance.now();
      await insertGeneratedOrders(hub.storage.db, orderCount);
      const insertSeconds = (performance.now() - insertStartedMs) / 1000;
      const tokenResponse = await hub.app.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}`,
      });
      const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
      const get = async (query: string) => {
        const response = await hub.app.request(`/api/v1/orders?${query}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status !== 200) throw new Error(`GET /orders?${query}: ${response.status}`);
        return (await response.json()) as { items: unknown[]; nextCursor: string | null };
      };
      // A cursor ten pages deep per filter: keyset paging must cost the same at any depth.
      const deep: string[] = [];
      for (const filter of filters) {
        let cursor: string | null = null;
        for (let page = 0; page < 10; page++) {
          const result = await get(`${filter}&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
          cursor = result.nextCursor;
          if (!cursor) break;
        }
        deep.push(cursor ? `${filter}&limit=50&cursor=${cursor}` : `${filter}&limit=50`);
      }
      const queries = [...filters.map((filter) => `${filter}&limit=50`), ...deep];
      for (const query of queries) await get(query); // warm the statement cache and pages
      const latencies: number[] = [];
      for (let round = 0; round < requestsPerFilter; round++) {
        for (const query of queries) {
          const startedMs = performance.now();
          await get(query);
          latencies.push(performance.now() - startedMs);
        }
      }
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      return {
        name: 'hub order lookup',
        figures: [
          { metric: 'orders in the table', value: formatNumber(orderCount) },
          { metric: 'filtered page of 50, p50', value: `${formatNumber(p50, 2)} ms` },
          {
            metric: 'filtered page of 50, p99',
            value: `${formatNumber(p99, 2)} ms`,
            target: `<= ${targetP99Ms} ms`,
            meets: p99 <= targetP99Ms,
          },
        ],
        notes: [
          `${latencies.length} requests over ${queries.length} queries (${filters.length} filters, first page and 10 pages deep)`,
          `generating the orders took ${formatNumber(insertSeconds, 1)} s (one transaction)`,
        ],
      };
    } finally {
      await hub.close();
      removeTempDir(directory);
    }
  },
};
