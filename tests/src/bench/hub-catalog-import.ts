import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHub, type Hub } from '@dovetail/hub';
import { type Bench, type BenchFigure, formatNumber } from './bench.ts';

/**
 * Bulk catalog import and cached reads on SQLite (a file, WAL, synchronous=FULL), in-process
 * (`app.request`, so the network is excluded): figures, never assertions. (1) a 10,000-row CSV
 * (5,000 products of two variants) imported in one request, rows/s; (2) the same file again (every
 * product unchanged); (3) product reads answered from the catalog cache, p50/p99, and the same read
 * revalidated with If-None-Match (304).
 */
const rowCount = 10_000;
const readSamples = 5_000;
const adminSecret = 'bench-admin-secret-0123456789';
const columns =
  'product_id,name,category,material,description,base_price,currency,width_cm,depth_cm,height_cm,options,configurable_options,archived,sku,gtin,variant_options,variant_price';

function catalogCsv(): string {
  const lines = [columns];
  const configurable =
    '"[{""name"":""fabric"",""type"":""choice"",""choices"":[{""value"":""linen"",""priceDelta"":0},{""value"":""boucle"",""priceDelta"":15000}]}]"';
  for (let row = 0; row < rowCount; row++) {
    const product = Math.floor(row / 2);
    const color = row % 2 === 0 ? 'grey' : 'sand';
    lines.push(
      `,Bench sofa ${product},sofa,wool,"A sofa, seeded",${100_000 + product},EUR,220,95,82,,${configurable},false,BENCH-${product}-${color},,"{""color"":""${color}""}",`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function percentile(sortedMs: number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] ?? Number.NaN;
}

const format = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

async function token(hub: Hub): Promise<string> {
  const response = await hub.app.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}`,
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function importOnce(
  hub: Hub,
  bearer: string,
  csv: string,
): Promise<{ ms: number; report: Record<string, number> }> {
  const started = performance.now();
  const response = await hub.app.request('/api/v1/catalog/import?async=false', {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const report = (await response.json()) as Record<string, number>;
  if (response.status !== 200)
    throw new Error(`import answered ${response.status}: ${JSON.stringify(report).slice(0, 300)}`);
  return { ms: performance.now() - started, report };
}

export const hubCatalogImportBench: Bench = {
  name: 'hub catalog import and cached reads',
  async run() {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-import-bench-'));
    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    try {
      // One client reads in a tight loop: its per-client budget is raised, as the holds bench does.
      const hub = await createHub({
        storage: { kind: 'sqlite', file: path.join(dataDir, 'hub.db') },
        adminSecret,
        rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
      });
      try {
        const bearer = await token(hub);
        const csv = catalogCsv();
        const first = await importOnce(hub, bearer, csv);
        const rate = rowCount / (first.ms / 1000);
        figures.push({
          metric: `import ${formatNumber(rowCount)} rows (sqlite), rows/s`,
          value: formatNumber(rate),
          target: '≥ 5,000',
          meets: rate >= 5_000,
        });
        const again = await importOnce(hub, bearer, csv);
        figures.push({
          metric: 're-import unchanged, rows/s',
          value: formatNumber(rowCount / (again.ms / 1000)),
        });
        notes.push(`first import: ${JSON.stringify(first.report)}`.replace(/"errors":\[\]/, 'no errors'));

        const listed = await hub.app.request('/api/v1/products?limit=1', {
          headers: { authorization: `Bearer ${bearer}` },
        });
        const id = ((await listed.json()) as { items: Array<{ id: string }> }).items[0]?.id as string;
        const headers = { authorization: `Bearer ${bearer}` };
        const samples: number[] = [];
        let etag = '';
        for (let n = 0; n < readSamples; n++) {
          const started = performance.now();
          const response = await hub.app.request(`/api/v1/products/${id}`, { headers });
          await response.arrayBuffer();
          samples.push(performance.now() - started);
          etag = response.headers.get('etag') ?? '';
        }
        samples.sort((a, b) => a - b);
        figures.push({ metric: 'cached product read p50', value: format(percentile(samples, 0.5)) });
        figures.push({ metric: 'cached product read p99', value: format(percentile(samples, 0.99)) });
        const revalidated: number[] = [];
        for (let n = 0; n < readSamples; n++) {
          const started = performance.now();
          const response = await hub.app.request(`/api/v1/products/${id}`, {
            headers: { ...headers, 'if-none-match': etag },
          });
          if (response.status !== 304) throw new Error(`revalidation answered ${response.status}`);
          revalidated.push(performance.now() - started);
        }
        revalidated.sort((a, b) => a - b);
        figures.push({ metric: 'If-None-Match → 304 p99', value: format(percentile(revalidated, 0.99)) });
      } finally {
        await hub.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return { name: this.name, figures, notes };
  },
};
