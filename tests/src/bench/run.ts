import { type Bench, type BenchFigure, formatTable } from './bench.ts';
import { catchUpBench } from './catch-up.ts';
import { edgeScansBench } from './edge-scans.ts';
import { hubApiBench } from './hub-api.ts';
import { hubCatalogImportBench } from './hub-catalog-import.ts';
import { hubHoldsBench } from './hub-holds.ts';
import { hubOrdersBench } from './hub-orders.ts';
import { hubWebhooksBench } from './hub-webhooks.ts';
import { manyEdgesBench } from './many-edges.ts';
import { propagationBench } from './propagation.ts';

/**
 * `npm run bench`: runs each bench in turn against real processes and prints its figures beside
 * the issue's targets. Figures only: the command exits 0 whenever every bench ran to the end.
 * Add a bench by exporting a `Bench` from its own file and listing it here.
 */
const benches: Bench[] = [
  edgeScansBench,
  hubApiBench,
  hubCatalogImportBench,
  hubHoldsBench,
  hubOrdersBench,
  hubWebhooksBench,
  catchUpBench,
  propagationBench,
  manyEdgesBench,
];

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const selected =
    only.length === 0 ? benches : benches.filter((bench) => only.some((name) => bench.name.startsWith(name)));
  if (selected.length === 0) {
    console.error(`no bench matches ${only.join(' ')}; benches: ${benches.map((bench) => bench.name).join(', ')}`);
    return 2;
  }
  console.log(
    `dovetail bench: ${selected.length} bench(es) on ${process.platform}/${process.arch}, node ${process.version}`,
  );
  let failed = 0;
  const targets: BenchFigure[] = [];
  for (const bench of selected) {
    const startedMs = Date.now();
    console.log(`\nrunning ${bench.name} ...`);
    try {
      const result = await bench.run();
      console.log(`${formatTable(result)}\n  (${((Date.now() - startedMs) / 1000).toFixed(1)} s)`);
      for (const figure of result.figures)
        if (figure.target !== undefined)
          targets.push({ ...figure, metric: `${result.name.split(' (')[0]}: ${figure.metric.trim()}` });
    } catch (error) {
      failed++;
      console.error(`bench ${bench.name} did not run: ${(error as Error).stack ?? error}`);
    }
  }
  // One table of every figure that has a target, so a reader sees at a glance where each stands.
  const missed = targets.filter((figure) => figure.meets === false);
  const reasons = missed.map(
    (figure) => `${figure.metric}: ${figure.whereTimeGoes ?? 'no profile recorded for this figure'}`,
  );
  console.log(
    `\n${formatTable({ name: 'summary: every figure with a target', figures: targets, notes: [] })}${
      missed.length > 0
        ? `\n\nwhere the time goes, for each target missed:\n${reasons.map((reason) => `  * ${reason}`).join('\n')}`
        : ''
    }`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
