import path from 'node:path';
import { parseArgs } from 'node:util';
import { warehouseIdSchema } from '@dovetail/shared';

export type EdgeCommand =
  | {
      command: 'serve';
      port: number;
      host: string;
      dataDir: string;
      warehouseId: string;
      hubUrl?: string;
      clientId?: string;
      clientSecret?: string;
      /** `--tls-cert FILE --tls-key FILE` [EDGE_TLS_CERT, EDGE_TLS_KEY]: serve HTTPS with HSTS; plain HTTP without. */
      tls?: { certFile: string; keyFile: string };
      /** `--hub-ca FILE` [EDGE_HUB_CA]: the CA that signs the hub's certificate (an https hub); Node's trusted roots without. */
      hubCaFile?: string;
      /** The separate /metrics listener (`EDGE_METRICS_PORT`, `EDGE_METRICS_HOST`); undefined when `off`. */
      metrics?: { port: number; host: string; explicit: boolean };
    }
  | { command: 'verify'; dataDir: string }
  | { command: 'help' };

export const usage = `dovetail-edge — one warehouse's node: works on the LAN with or without the hub

usage:
  npm run edge -- [serve] --warehouse W1 [--port 4100] [--data DIR] [--hub URL --client-id ID --client-secret SECRET]
                  [--tls-cert FILE --tls-key FILE] [--hub-ca FILE]
  npm run edge -- verify --data DIR      recompute every partition from its ledger and check the outbox

flags (environment variable in brackets):
  --warehouse ID      the warehouse this node owns [EDGE_WAREHOUSE_ID] (required to serve)
  --port N            HTTP port [EDGE_PORT] (default 4100)
  --host ADDR         listen address [EDGE_HOST] (default 0.0.0.0: scanners on the LAN)
  --data DIR          data directory [EDGE_DATA_DIR] (default .dovetail/edge-<warehouse>)
  --hub URL           the hub to sync with [EDGE_HUB_URL]
  --client-id ID      edge credentials from the hub's enrollment [EDGE_CLIENT_ID]
  --client-secret S   [EDGE_CLIENT_SECRET]
  --tls-cert FILE     PEM certificate chain: serve HTTPS, with HSTS [EDGE_TLS_CERT]
  --tls-key FILE      its private key [EDGE_TLS_KEY] (without both: plain HTTP, warned about off loopback)
  --hub-ca FILE       PEM CA certificate(s) the https hub's certificate must chain to [EDGE_HUB_CA]
                      (default: Node's trusted roots, plus NODE_EXTRA_CA_CERTS)
  EDGE_BOOTSTRAP_STAFF="username:password" creates a supervisor at start-up if none exists.
  EDGE_METRICS_PORT=N serves Prometheus /metrics on its own listener (default 9465; off for none),
  EDGE_METRICS_HOST=ADDR that listener's address (default 127.0.0.1: not reachable from the LAN).`;

/** Default port of the metrics listener (the hub's is 9464). */
export const defaultEdgeMetricsPort = 9465;

/** npm runs workspace scripts inside the workspace: resolve relative paths where the user typed them. */
function resolvePath(value: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), value);
}

export function parseEdgeCommand(argv: string[], env: NodeJS.ProcessEnv): EdgeCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      warehouse: { type: 'string' },
      hub: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'hub-ca': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { command: 'help' };
  const command = positionals[0] ?? 'serve';
  if (positionals.length > 1 || (command !== 'serve' && command !== 'verify')) {
    throw new Error(`unknown command: ${positionals.join(' ')}\n\n${usage}`);
  }
  const dataFlag = values.data ?? env.EDGE_DATA_DIR;
  if (command === 'verify') {
    if (!dataFlag) throw new Error('verify needs --data DIR (the edge data directory)');
    return { command, dataDir: resolvePath(dataFlag) };
  }
  const warehouse = values.warehouse ?? env.EDGE_WAREHOUSE_ID;
  if (!warehouse) throw new Error(`--warehouse (or EDGE_WAREHOUSE_ID) is required\n\n${usage}`);
  const warehouseId = warehouseIdSchema.safeParse(warehouse);
  if (!warehouseId.success) throw new Error(`--warehouse ${warehouse}: letters, digits, _ and - only`);
  const portText = values.port ?? env.EDGE_PORT ?? '4100';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${portText} is not a TCP port`);
  const hubUrl = values.hub ?? env.EDGE_HUB_URL;
  if (hubUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(hubUrl))
    throw new Error(`--hub ${hubUrl} is not an http(s) URL`);
  const clientId = values['client-id'] ?? env.EDGE_CLIENT_ID;
  const clientSecret = values['client-secret'] ?? env.EDGE_CLIENT_SECRET;
  if (hubUrl !== undefined && (!clientId || !clientSecret)) {
    throw new Error('--hub needs --client-id and --client-secret (from the hub: POST /api/v1/warehouses/{id}/edges)');
  }
  const certFile = values['tls-cert'] ?? env.EDGE_TLS_CERT;
  const keyFile = values['tls-key'] ?? env.EDGE_TLS_KEY;
  if (Boolean(certFile) !== Boolean(keyFile))
    throw new Error('give --tls-cert FILE and --tls-key FILE together (EDGE_TLS_CERT, EDGE_TLS_KEY), or neither');
  const hubCaFile = values['hub-ca'] ?? env.EDGE_HUB_CA;
  if (hubCaFile && !hubUrl?.startsWith('https://'))
    throw new Error('--hub-ca (EDGE_HUB_CA) verifies an https hub: give --hub https://…');
  const metricsPortText = (env.EDGE_METRICS_PORT ?? '').trim();
  const metricsPort = metricsPortText === '' ? defaultEdgeMetricsPort : Number(metricsPortText);
  if (metricsPortText !== 'off' && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
    throw new Error(`EDGE_METRICS_PORT=${metricsPortText.slice(0, 20)} must be a TCP port or off`);
  return {
    command,
    port,
    ...(metricsPortText === 'off'
      ? {}
      : {
          metrics: {
            port: metricsPort,
            host: (env.EDGE_METRICS_HOST ?? '').trim() || '127.0.0.1',
            explicit: metricsPortText !== '',
          },
        }),
    host: values.host ?? env.EDGE_HOST ?? '0.0.0.0',
    dataDir: resolvePath(dataFlag ?? `.dovetail/edge-${warehouseId.data}`),
    warehouseId: warehouseId.data,
    ...(hubUrl !== undefined && clientId && clientSecret ? { hubUrl, clientId, clientSecret } : {}),
    ...(certFile && keyFile ? { tls: { certFile: resolvePath(certFile), keyFile: resolvePath(keyFile) } } : {}),
    ...(hubCaFile ? { hubCaFile: resolvePath(hubCaFile) } : {}),
  };
}
