import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { transportNotice, withStrictTransportSecurity } from '@dovetail/shared';
import { parseEdgeCommand, usage } from './config.ts';
import { openEdgeDatabase } from './db/open.ts';
import { createEdgeMetricsApp } from './http/metrics-app.ts';
import { type EdgeNode, createEdgeNode } from './node.ts';
import { verifyEdgeDatabase } from './services/verify.ts';
import { loadHubCa, loadTlsMaterial } from './tls.ts';

const shutdownGraceMs = 10_000;

async function main(): Promise<number> {
  const command = parseEdgeCommand(process.argv.slice(2), process.env);
  if (command.command === 'help') {
    console.log(usage);
    return 0;
  }
  if (command.command === 'verify') {
    if (!fs.existsSync(path.join(command.dataDir, 'edge.sqlite')))
      throw new Error(`no edge database in ${command.dataDir}`);
    const db = openEdgeDatabase(command.dataDir);
    const report = verifyEdgeDatabase(db, (done, total) =>
      process.stderr.write(`verified ${done}/${total} partitions\r`),
    );
    db.close();
    console.log(JSON.stringify(report, null, 2));
    console.error(
      report.ok
        ? `ok: ${report.partitions} partitions fold from ${report.events} ledger events; upstream 1..${report.upstream.lastSeq} gap-free`
        : `FAILED: ${report.mismatches.length} partitions differ from their ledger, ${report.upstream.problems.length} upstream problems`,
    );
    return report.ok ? 0 : 1;
  }

  // Certificate, key and hub CA are read before the database opens: a typo stops the edge at once.
  const tls = command.tls ? loadTlsMaterial(command.tls) : undefined;
  const hubCa = command.hubCaFile ? loadHubCa(command.hubCaFile) : undefined;
  const node = await createEdgeNode({
    dataDir: command.dataDir,
    warehouseId: command.warehouseId,
    hubUrl: command.hubUrl,
    hubCa,
    hubCredentials:
      command.clientId && command.clientSecret
        ? { clientId: command.clientId, clientSecret: command.clientSecret }
        : undefined,
    bootstrapStaff: process.env.EDGE_BOOTSTRAP_STAFF,
    processMetrics: true,
  });
  const listen = { port: command.port, hostname: command.host };
  const listening = (info: { port: number }) => {
    const notice = transportNotice(command.host, tls !== undefined, '--tls-cert FILE --tls-key FILE');
    node.logger[notice.level]({ host: command.host, port: info.port }, notice.message);
    node.logger.info(
      { port: info.port, host: command.host, dataDir: command.dataDir, durability: 'sqlite WAL, synchronous=FULL' },
      `edge for warehouse ${node.warehouseId} listening on ${tls ? 'https' : 'http'}://${command.host === '0.0.0.0' ? '127.0.0.1' : command.host}:${info.port}`,
    );
  };
  // With TLS the scanner app and API are served over HTTPS only, every answer with HSTS.
  const server = tls
    ? serve(
        {
          ...listen,
          fetch: withStrictTransportSecurity(node.app.fetch),
          createServer: https.createServer,
          serverOptions: tls,
        },
        listening,
      )
    : serve({ ...listen, fetch: node.app.fetch }, listening);
  server.on('error', (error: NodeJS.ErrnoException) => {
    const hint =
      error.code === 'EADDRINUSE' ? `port ${command.port} is taken: pick another with --port` : error.message;
    node.logger.error({ code: error.code }, `cannot listen: ${hint}`);
    node.close().finally(() => process.exit(2));
  });
  const metricsServer = command.metrics ? serveMetrics(command.metrics, node) : undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.logger.info({ signal }, 'shutting down: answering requests in flight, then closing the database');
    // Stop accepting; requests already received are answered (their scans commit first), then idle
    // keep-alive sockets close. Past the grace period the remaining sockets are cut: scanners retry
    // with their Idempotency-Key, so nothing is counted twice.
    metricsServer?.close();
    const grace = setTimeout(() => (server as http.Server).closeAllConnections(), shutdownGraceMs).unref();
    server.close(() => {
      clearTimeout(grace);
      node
        .close()
        .then(() => process.exit(0))
        .catch((error) => {
          node.logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        });
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1;
}

/**
 * /metrics on its own listener, loopback unless EDGE_METRICS_HOST says otherwise (docs/operations.md).
 * A port chosen with EDGE_METRICS_PORT must bind; the default one, when taken, only logs.
 */
function serveMetrics(settings: { port: number; host: string; explicit: boolean }, node: EdgeNode) {
  const server = serve(
    { fetch: createEdgeMetricsApp(node.metrics).fetch, port: settings.port, hostname: settings.host },
    (info) => node.logger.info({ port: info.port, host: settings.host }, 'metrics listening (GET /metrics)'),
  );
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (settings.explicit) {
      node.logger.error({ code: error.code }, `cannot serve metrics on ${settings.host}:${settings.port}`);
      node.close().finally(() => process.exit(2));
      return;
    }
    node.logger.warn(
      { code: error.code },
      `metrics not served: ${settings.host}:${settings.port} is taken (set EDGE_METRICS_PORT, or off)`,
    );
  });
  return server;
}

main()
  .then((code) => {
    if (code >= 0) process.exit(code);
  })
  .catch((error: Error) => {
    console.error(`dovetail-edge: ${error.message}`);
    process.exit(2);
  });
