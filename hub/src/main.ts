import type http from 'node:http';
import https from 'node:https';
import { serve } from '@hono/node-server';
import { transportNotice, withStrictTransportSecurity } from '@dovetail/shared';
import pino, { type Logger } from 'pino';
import { runAuditCli } from './audit-cli.ts';
import { ConfigError, type HubConfig, parseConfig } from './config.ts';
import { createMetricsApp } from './http/observability.ts';
import { createHub, type Hub } from './hub.ts';
import { loadOrCreateKeyEncryptionKey } from './key-file.ts';
import { runImportCli } from './import-cli.ts';
import type { SyncServer } from './sync/server.ts';
import { loadTlsMaterial } from './tls.ts';

/** `npm run hub -- --port 4000 --data DIR`: the hub as a process, with graceful shutdown. */
async function main(): Promise<void> {
  // `npm run hub -- import FILE`: a client of a running hub (import-cli.ts), not a hub itself.
  if (process.argv[2] === 'import') process.exit(await runImportCli(process.argv.slice(3)));
  // `npm run hub -- audit verify --data DIR`: recomputes the audit chain (audit-cli.ts), no hub started.
  if (process.argv[2] === 'audit') process.exit(await runAuditCli(process.argv.slice(3)));
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'hub' } });
  // Certificate and key are checked before anything opens: a typo must not start a plain-HTTP hub.
  const tls = config.tls ? loadTlsMaterial(config.tls) : undefined;
  // Private signing keys are always sealed at rest: by HUB_KEY_ENCRYPTION_KEY, else by a key file.
  let keyEncryptionKey = config.keyEncryptionKey;
  if (!keyEncryptionKey) {
    const source = loadOrCreateKeyEncryptionKey(config.keyEncryptionKeyFile);
    if (source.created)
      logger.warn(
        { file: source.file },
        'generated a key-encryption key for the signing keys: back it up; other hubs on this database need the same',
      );
    keyEncryptionKey = source.key;
  }
  const hub = await createHub({
    storage: config.storage,
    adminSecret: config.adminSecret,
    issuer: config.issuer,
    logger,
    defaultMetrics: true,
    webhooks: config.webhooks,
    publicUrl: config.publicUrl,
    rateLimit: config.requestBudget,
    instances: config.instances,
    holdUnitsPerSkuMax: config.holdUnitsPerSkuMax,
    requireAdminMfa: config.requireAdminMfa,
    uncatalogedStock: config.uncatalogedStock,
    brand: config.brand,
    returns: config.returns,
    ops: config.ops,
    notifications: config.notifications,
    ...(config.piiRetentionDays === undefined ? {} : { piiRetentionDays: config.piiRetentionDays }),
    ...(config.easypostWebhookSecret ? { easypostWebhookSecret: config.easypostWebhookSecret } : {}),
    ...(config.externalIssuer ? { externalIssuer: config.externalIssuer } : {}),
    keyEncryptionKey,
  });
  if (hub.generatedAdminSecret) {
    // Printed once, on the first start only; it is stored hashed and cannot be shown again.
    process.stderr.write(
      `\nBootstrap admin client created.\n  client_id: admin\n  client_secret: ${hub.generatedAdminSecret}\nStore it now: it will not be shown again.\n\n`,
    );
  }
  // With TLS the API, the docs and /sync (wss) share one HTTPS listener; every answer carries HSTS.
  const listen = { port: config.port, hostname: config.host };
  const listening = (info: { port: number }) => {
    const notice = transportNotice(config.host, tls !== undefined, '--tls-cert FILE --tls-key FILE');
    logger[notice.level]({ host: config.host, port: info.port }, notice.message);
    logger.info(
      { port: info.port, host: config.host, scheme: tls ? 'https' : 'http', storage: hub.storage.description },
      'hub listening',
    );
  };
  const server = tls
    ? serve(
        {
          ...listen,
          fetch: withStrictTransportSecurity(hub.app.fetch),
          createServer: https.createServer,
          serverOptions: tls,
        },
        listening,
      )
    : serve({ ...listen, fetch: hub.app.fetch }, listening);
  const metricsServer = config.metrics ? serveMetrics(config.metrics, hub, logger) : undefined;

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, shutdownForceMs);
    force.unref();
    // Stop accepting, then close the edges' sockets with "going away" (1001): a WebSocket is a
    // connection the HTTP server would otherwise wait for. Requests in flight get a grace period.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    const grace = setTimeout(() => (server as http.Server).closeAllConnections(), requestGraceMs);
    grace.unref();
    metricsServer?.close();
    (async () => {
      await sync?.close();
      await closed;
      clearTimeout(grace);
      await hub.close();
      logger.info('stopped');
      process.exit(0);
    })().catch((error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  let sync: SyncServer | undefined;
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  sync = await hub.startSync(server as http.Server);
}

/** In-flight requests get this long after a SIGTERM before their connections are cut. */
const requestGraceMs = 5_000;
const shutdownForceMs = 10_000;

/**
 * /metrics on its own listener (loopback unless `HUB_METRICS_HOST` says otherwise), so whoever can
 * reach the API cannot read it (docs/operations.md). The default port, when taken, only logs.
 */
function serveMetrics(settings: NonNullable<HubConfig['metrics']>, hub: Hub, logger: Logger) {
  const server = serve(
    { fetch: createMetricsApp(hub.metrics).fetch, port: settings.port, hostname: settings.host },
    (info) => logger.info({ port: info.port, host: settings.host }, 'metrics listening (GET /metrics)'),
  );
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (settings.explicit) {
      logger.error({ code: error.code }, `cannot serve metrics on ${settings.host}:${settings.port}`);
      process.exit(2);
    }
    logger.warn(
      { code: error.code },
      `metrics not served: ${settings.host}:${settings.port} is taken (set HUB_METRICS_PORT, or off)`,
    );
  });
  return server;
}

main().catch((error) => {
  process.stderr.write(`hub failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
