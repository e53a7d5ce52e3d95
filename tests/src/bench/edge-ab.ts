import path from 'node:path';
import type autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { bootstrapStaff, processCpuMs } from '../support/edge-process.ts';
import { signIn } from '../support/http.ts';
import { repoRoot } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { receiveScans } from './scans.ts';

/**
 * Two edges side by side under the same load at the same time: an A/B of the scan path that holds on
 * a machine shared with other work, where two runs of the same code taken one after the other differ
 * by up to 1.5x. Each side is a checkout (this one, or a `git worktree add /tmp/edge-old <commit>`
 * with node_modules copied in); both get the same scans at the same moment, and each round prints
 * both sides' scans/s, client p99 and the edge's CPU per scan (user + system, from /proc).
 *
 *   npx tsx src/bench/edge-ab.ts /tmp/edge-old .
 *
 * BENCH_ROUNDS (default 4), BENCH_SECONDS (5), BENCH_CONNECTIONS per side (32); A_ENV / B_ENV
 * (`NAME=value,NAME=value`) set environment for one side; A_SQL / B_SQL run against that side's fresh
 * database before the load (e.g. `DROP INDEX ledger_receipts` to price an index). Run A/A (the same
 * checkout twice) to see the noise. Figures only; not part of `npm run bench`.
 */
type Side = { label: string; checkout: string; env: Record<string, string>; sql: string | undefined };

const [checkoutA, checkoutB] = process.argv.slice(2);
if (!checkoutA || !checkoutB) {
  console.error('usage: npx tsx src/bench/edge-ab.ts <checkout A> <checkout B>');
  process.exit(2);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

const parseEnv = (text: string | undefined) =>
  Object.fromEntries(
    (text ?? '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
const sides: Side[] = [
  { label: 'A', checkout: path.resolve(repoRoot, checkoutA), env: parseEnv(process.env.A_ENV), sql: process.env.A_SQL },
  { label: 'B', checkout: path.resolve(repoRoot, checkoutB), env: parseEnv(process.env.B_ENV), sql: process.env.B_SQL },
];

function cpuSeconds(pid: number): number {
  return (processCpuMs(pid) ?? 0) / 1000;
}

/** The SKUs the A/B scans rotate through. */
const abSkus = Array.from({ length: 6 }, (_, n) => `SKU-${n}`);

async function startSide(side: Side) {
  const dataDir = createTempDir(`edge-ab-${side.label}`);
  const server: ServerProcess = await startServerProcess({
    name: `edge ${side.label}`,
    script: path.join(side.checkout, 'edge/src/main.ts'),
    args: ['--host', '127.0.0.1', '--data', dataDir, '--warehouse', 'W1'],
    env: {
      EDGE_BOOTSTRAP_STAFF: `${bootstrapStaff.username}:${bootstrapStaff.password}`,
      LOG_LEVEL: 'warn',
      EDGE_METRICS_PORT: String(await freePort()),
      EDGE_SESSION_REQUESTS_PER_SECOND: '100000',
      EDGE_SESSION_REQUESTS_BURST: '1000000',
      ...side.env,
    },
  });
  if (side.sql) {
    const db = new Database(path.join(dataDir, 'edge.sqlite'));
    db.pragma('busy_timeout = 5000');
    db.exec(side.sql);
    db.close();
  }
  const token = await signIn(server.baseUrl, bootstrapStaff);
  const drive = receiveScans(server.baseUrl, token, abSkus, 'ab');
  const scans = (duration: number, conns: number) => drive({ duration, connections: conns });
  return { side, server, dataDir, scans };
}

const started = [await startSide(sides[0] as Side), await startSide(sides[1] as Side)] as const;
try {
  await Promise.all(started.map((each) => each.scans(1, 8))); // warm-up, not reported
  console.log(`A = ${sides[0]?.checkout}, B = ${sides[1]?.checkout}; ${connections} connections each`);
  for (let round = 1; round <= rounds; round++) {
    const cpuBefore = started.map((each) => cpuSeconds(each.server.pid));
    const results = await Promise.all(started.map((each) => each.scans(seconds, connections)));
    const line = started.map((each, index) => {
      const result = results[index] as autocannon.Result;
      const cpu = cpuSeconds(each.server.pid) - (cpuBefore[index] as number);
      const perScanUs = result['2xx'] > 0 ? Math.round((cpu / result['2xx']) * 1e6) : 0;
      return `${each.side.label} ${Math.round(result['2xx'] / seconds)}/s p99 ${result.latency.p99} ms cpu ${perScanUs} µs/scan non-2xx ${result.non2xx}`;
    });
    const ratio = (results[1] as autocannon.Result)['2xx'] / Math.max(1, (results[0] as autocannon.Result)['2xx']);
    console.log(`round ${round}: ${line.join(' | ')} | B/A ${ratio.toFixed(3)}`);
  }
} finally {
  for (const each of started) {
    await each.server.kill();
    removeTempDir(each.dataDir);
  }
}
