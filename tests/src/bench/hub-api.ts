import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Hub, createHub, dropPostgresSchema } from '@dovetail/hub';
import { getProduct } from '@dovetail/hub/testing';
import { newId, productCategories } from '@dovetail/shared';
import { postgresAnswers } from '../support/postgres.ts';
import type { Bench } from './bench.ts';

/**
 * The hub's catalog and API overhead, in-process (`app.request`, so the network is excluded):
 * figures, never assertions. (1) catalog list latency (p50/p99) over 10,000 products for the
 * filters shoppers use, (2) the per-call overhead of the generated REST route and of tRPC over
 * calling the service directly. Runs on SQLite (a file, WAL, synchronous=FULL) and, when
 * DOVETAIL_BENCH_DATABASE_URL is set or PostgreSQL answers on 127.0.0.1:5432, on PostgreSQL too.
 */
const productCount = 10_000;
const listSamples = 300;
const overheadIterations = 2_000;
const adminSecret = 'bench-admin-secret-0123456789';

function percentile(sortedMs: number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] ?? Number.NaN;
}

function format(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

async function seed(db: Hub['storage']['db']): Promise<string[]> {
  const now = Date.now();
  const materials = ['oak', 'walnut', 'wool', 'linen', 'velvet', 'steel', 'rattan', 'leather'];
  const ids: string[] = [];
  const chunk = 250;
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < productCount; start += chunk) {
      const products = [];
      const variants = [];
      for (let index = start; index < Math.min(productCount, start + chunk); index++) {
        const id = newId();
        ids.push(id);
        products.push({
          id,
          name: `Bench ${['Oslo', 'Linnea', 'Aalto', 'Tove', 'Bergen'][index % 5]} ${index}`,
          category: productCategories[index % productCategories.length] as string,
          material: materials[index % materials.length] as string,
          description: `Seeded product number ${index} for the catalog benchmark`,
          base_price: 10_000 + ((index * 7919) % 500_000),
          currency: 'EUR',
          dimensions_json: JSON.stringify({ widthCm: 100, depthCm: 80, heightCm: 75 }),
          options_json: null,
          archived: 0,
          version: 1,
          created_at: now,
          updated_at: now,
        });
        for (let variant = 0; variant < 2; variant++) {
          variants.push({
            sku: `BENCH-${index}-${variant}`,
            product_id: id,
            position: variant,
            gtin: null,
            options_json: JSON.stringify({ color: variant ? 'sand' : 'grey' }),
            price: null,
          });
        }
      }
      await trx.insertInto('products').values(products).execute();
      await trx.insertInto('variants').values(variants).execute();
    }
  });
  return ids;
}

async function token(hub: Hub): Promise<string> {
  const response = await hub.app.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}`,
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function timeRequests(
  hub: Hub,
  bearer: string,
  paths: () => string,
  samples: number,
): Promise<{ p50: number; p99: number; items: number }> {
  const durations: number[] = [];
  let items = 0;
  for (let sample = 0; sample < samples; sample++) {
    const started = performance.now();
    const response = await hub.app.request(paths(), { headers: { authorization: `Bearer ${bearer}` } });
    const body = (await response.json()) as { items?: unknown[] };
    durations.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`bench request failed: ${response.status} ${JSON.stringify(body)}`);
    items += body.items?.length ?? 0;
  }
  durations.sort((a, b) => a - b);
  return { p50: percentile(durations, 0.5), p99: percentile(durations, 0.99), items: Math.round(items / samples) };
}

async function meanMs(iterations: number, call: () => Promise<unknown>): Promise<number> {
  for (let warm = 0; warm < 100; warm++) await call();
  const started = performance.now();
  for (let iteration = 0; iteration < iterations; iteration++) await call();
  return (performance.now() - started) / iterations;
}

async function benchOne(label: string, hub: Hub): Promise<void> {
  const seedStarted = performance.now();
  const ids = await seed(hub.storage.db);
  console.log(
    `\n[hub bench] ${label}: seeded ${productCount} products (${2 * productCount} variants) in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );
  const bearer = await token(hub);

  // A cursor roughly in the middle of the catalog, to measure a deep page.
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const response = await hub.app.request(`/api/v1/products?limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    cursor = ((await response.json()) as { nextCursor: string | null }).nextCursor;
  }
  let rotate = 0;
  const cases: Array<[string, () => string]> = [
    ['first page, limit 50', () => '/api/v1/products?limit=50'],
    [
      'category filter, limit 50',
      () => `/api/v1/products?category=${productCategories[rotate++ % productCategories.length]}&limit=50`,
    ],
    [
      'category + material + price range',
      () => `/api/v1/products?category=sofa&material=wool&minPrice=50000&maxPrice=400000&limit=50`,
    ],
    [
      'text search q (LIKE scan)',
      () => `/api/v1/products?q=${['oslo', 'linnea', 'number 42', 'bergen'][rotate++ % 4]}&limit=50`,
    ],
    ['deep cursor page, limit 50', () => `/api/v1/products?limit=50&cursor=${cursor}`],
    ['page of 500 (the maximum)', () => '/api/v1/products?limit=500'],
  ];
  console.log(`[hub bench] ${label}: GET /api/v1/products over ${productCount} products, ${listSamples} requests each`);
  for (const [name, paths] of cases) {
    const result = await timeRequests(hub, bearer, paths, name.startsWith('page of 500') ? 60 : listSamples);
    console.log(
      `  ${name.padEnd(36)} p50 ${format(result.p50).padStart(9)}  p99 ${format(result.p99).padStart(9)}  (${result.items} items/page)`,
    );
  }

  const id = ids[Math.floor(ids.length / 2)]!;
  const headers = { authorization: `Bearer ${bearer}` };
  const input = encodeURIComponent(JSON.stringify({ id }));
  const direct = await meanMs(overheadIterations, () => getProduct(hub.storage.db, id));
  const rest = await meanMs(overheadIterations, async () =>
    (await hub.app.request(`/api/v1/products/${id}`, { headers })).arrayBuffer(),
  );
  const trpc = await meanMs(overheadIterations, async () =>
    (await hub.app.request(`/trpc/catalog.get?input=${input}`, { headers })).arrayBuffer(),
  );
  const health = await meanMs(overheadIterations, async () => (await hub.app.request('/healthz')).arrayBuffer());
  console.log(`[hub bench] ${label}: one product by id, mean of ${overheadIterations} calls`);
  console.log(`  service call (no HTTP)              ${format(direct).padStart(9)}`);
  console.log(`  Hono no-op route (/healthz)         ${format(health).padStart(9)}`);
  console.log(
    `  REST  GET /api/v1/products/{id}     ${format(rest).padStart(9)}  overhead ${format(rest - direct)} per call (auth + routing + validation)`,
  );
  console.log(
    `  tRPC  GET /trpc/catalog.get         ${format(trpc).padStart(9)}  overhead ${format(trpc - direct)} per call`,
  );
}

async function runHubBench(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-bench-'));
  try {
    const hub = await createHub({ storage: { kind: 'sqlite', file: path.join(dataDir, 'hub.db') }, adminSecret });
    try {
      await benchOne('sqlite (file, WAL, synchronous=FULL)', hub);
    } finally {
      await hub.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const url = process.env['DOVETAIL_BENCH_DATABASE_URL'];
  if (url) {
    const schema = `bench_${Date.now().toString(36)}`;
    const hub = await createHub({ storage: { kind: 'postgres', url, schema }, adminSecret });
    try {
      await benchOne('postgresql', hub);
    } finally {
      await hub.close();
      await dropPostgresSchema(url, schema);
    }
  }
}

const localPostgres = 'postgres://postgres@127.0.0.1:5432/test';

export const hubApiBench: Bench = {
  name: 'hub catalog and API overhead (in-process)',
  async run() {
    if (process.env.DOVETAIL_BENCH_DATABASE_URL === undefined && (await postgresAnswers(localPostgres))) {
      process.env.DOVETAIL_BENCH_DATABASE_URL = localPostgres;
    }
    await runHubBench();
    return {
      name: 'hub catalog and API overhead',
      figures: [],
      notes: [
        'figures printed above by the hub bench',
        process.env.DOVETAIL_BENCH_DATABASE_URL
          ? 'PostgreSQL run included'
          : 'no PostgreSQL on 127.0.0.1:5432: SQLite only',
      ],
    };
  },
};
