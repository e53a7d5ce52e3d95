/**
 * `npm start`: a warehouse edge as staff would meet it, with a demo supervisor and a few receipts
 * already scanned, so the scanner page at http://127.0.0.1:4100/ has something to show.
 * (The whole flow, hub and sync included, joins this demo as those parts land.)
 */
import path from 'node:path';
import { serve } from '@hono/node-server';
import { createEdgeNode } from './node.ts';
import type { StockCommand } from './services/stock.ts';

const port = Number(process.env.EDGE_PORT ?? 4100);
const dataDir = path.resolve(process.env.INIT_CWD ?? process.cwd(), process.env.EDGE_DATA_DIR ?? '.dovetail/demo-edge-AMS');
const username = 'demo';
const password = 'demo-password';

const node = await createEdgeNode({
  dataDir,
  warehouseId: 'AMS',
  bootstrapStaff: `${username}:${password}`,
  logger: (await import('./logger.ts')).createLogger({ warehouseId: 'AMS' }, process.env.LOG_LEVEL ?? 'warn'),
});

if (node.queries.upstream().lastSeq === 0) {
  const seed: StockCommand[] = [
    { type: 'receive', sku: 'SOFA-OSLO-3S-GREY', quantity: 12, bin: 'A-01', lot: 'FABRIC-2026-47', reference: 'PO-1001' },
    { type: 'receive', sku: 'SOFA-OSLO-3S-SAND', quantity: 8, bin: 'A-02', reference: 'PO-1001' },
    { type: 'receive', sku: 'BED-LINNEA-160', quantity: 2, bin: 'B-07', serials: ['LIN-160-0001', 'LIN-160-0002'] },
    { type: 'receive', sku: 'CHAIR-AALTO-OAK', quantity: 40, bin: 'C-03' },
    { type: 'damage', sku: 'CHAIR-AALTO-OAK', quantity: 1, note: 'scratched leg' },
    { type: 'move', sku: 'SOFA-OSLO-3S-GREY', quantity: 2, fromBin: 'A-01', toBin: 'SHOWROOM' },
  ];
  for (const command of seed) {
    const response = await node.writer.submit({ command, actor: username });
    if (response.status !== 201) throw new Error(`demo seed ${command.type} ${command.sku} answered ${response.status}`);
  }
}

serve({ fetch: node.app.fetch, port, hostname: '127.0.0.1' }, () => {
  const base = `http://127.0.0.1:${port}`;
  console.log(`
Dovetail demo — the edge node of warehouse AMS (no hub needed: it works offline)

  Scanner app    ${base}/            sign in as ${username} / ${password}
  Health         ${base}/healthz
  Metrics        ${base}/metrics
  Data           ${dataDir}  (SQLite, WAL, synchronous=FULL)

Try it from a shell:
  TOKEN=$(curl -s -X POST ${base}/api/v1/login -H 'content-type: application/json' \\
    -d '{"username":"${username}","password":"${password}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
  curl -s -X POST ${base}/api/v1/stock/receive -H "authorization: Bearer $TOKEN" \\
    -H 'content-type: application/json' -d '{"sku":"SOFA-OSLO-3S-GREY","quantity":3,"bin":"A-01"}'
  curl -s ${base}/api/v1/stock/SOFA-OSLO-3S-GREY -H "authorization: Bearer $TOKEN"
  curl -s ${base}/api/v1/sync/status -H "authorization: Bearer $TOKEN"

Stop with Ctrl-C; start again and every scan is still there.`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    node.close().then(() => process.exit(0));
  });
}
