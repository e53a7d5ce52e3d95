/**
 * `npm start`: the whole flow as people meet it, with the production commands. It starts the hub
 * and one warehouse edge as their own processes, sets up a catalog, a warehouse and the edge's
 * enrollment through the hub's public API (as an admin would), scans stock at the edge (as staff
 * would), and shows it arriving at the hub. State lives in .dovetail/demo; run it again and it
 * carries on where it stopped. Once the walkthrough is done the hub may stop (`s` + Enter, or any
 * other way) while the edge works on; `r` + Enter, or the printed command, brings it back on the
 * same data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(import.meta.dirname, '..', '..');
const stateDir = path.join(process.env.INIT_CWD ?? root, '.dovetail', 'demo');
const hubPort = Number(process.env.HUB_PORT ?? 4000);
const edgePort = Number(process.env.EDGE_PORT ?? 4100);
const partnerPort = Number(process.env.PARTNER_PORT ?? 4300);
const mailSmtpPort = Number(process.env.MAIL_SMTP_PORT ?? 4025);
const mailWebPort = Number(process.env.MAIL_WEB_PORT ?? 4026);
const mailbox = `http://127.0.0.1:${mailWebPort}`;
const hub = `http://127.0.0.1:${hubPort}`;
const edge = `http://127.0.0.1:${edgePort}`;
const adminSecret = process.env.DOVETAIL_ADMIN_SECRET ?? 'demo-admin-secret-change-me-0123456789';
const staff = { username: 'demo', password: 'demo-password' };
/** A hub staff member (admin) for the operations console at the hub's /ops. */
const opsStaff = { username: 'ops', password: 'ops-password' };
const children: ChildProcess[] = [];

function step(message: string): void {
  process.stdout.write(`  • ${message}\n`);
}

/**
 * Starts a child process, its output appended to `<name>.log`. An unexpected exit stops the whole
 * demo, unless `onExit` takes it over (the hub: the edge keeps working without it).
 */
function start(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  onExit?: (description: string) => void,
): ChildProcess {
  const log = fs.openSync(path.join(stateDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', log, log],
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (stopping) return;
    if (onExit) return onExit(String(signal ?? code));
    console.error(`\n${name} exited (${signal ?? code}); see ${path.join(stateDir, `${name}.log`)}`);
    stop(1);
  });
  return child;
}

async function waitFor(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not answer ${url} within 60 s; see the logs in ${stateDir}`);
}

// biome-ignore lint/suspicious/noExplicitAny: the demo reads API answers loosely, as a person reading JSON would.
type Json = any;

async function api(
  base: string,
  method: string,
  url: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const catalog = [
  {
    name: 'Oslo 3-seat sofa',
    category: 'sofa',
    material: 'wool',
    basePrice: 129900,
    currency: 'EUR',
    dimensions: { widthCm: 220, depthCm: 95, heightCm: 82 },
    variants: [
      { sku: 'SOFA-OSLO-3S-GREY', options: { color: 'grey' } },
      { sku: 'SOFA-OSLO-3S-SAND', options: { color: 'sand' } },
    ],
  },
  {
    name: 'Linnea bed',
    category: 'bed',
    material: 'oak',
    basePrice: 89900,
    currency: 'EUR',
    variants: [{ sku: 'BED-LINNEA-160', options: { width: '160' } }],
  },
  {
    name: 'Sora sideboard',
    category: 'storage',
    material: 'walnut',
    basePrice: 159900,
    currency: 'EUR',
    variants: [{ sku: 'SIDEBOARD-SORA-180', options: { length: '180' } }],
  },
  {
    name: 'Aalto chair',
    category: 'chair',
    material: 'oak',
    basePrice: 24900,
    currency: 'EUR',
    variants: [{ sku: 'CHAIR-AALTO-OAK', options: { wood: 'oak' } }],
  },
];
const scans = [
  ['receive', { sku: 'SOFA-OSLO-3S-GREY', quantity: 12, bin: 'A-01', lot: 'FABRIC-2026-47', reference: 'PO-1001' }],
  ['receive', { sku: 'SOFA-OSLO-3S-SAND', quantity: 8, bin: 'A-02', reference: 'PO-1001' }],
  ['receive', { sku: 'BED-LINNEA-160', quantity: 2, bin: 'B-07', serials: ['LIN-160-0001', 'LIN-160-0002'] }],
  ['receive', { sku: 'CHAIR-AALTO-OAK', quantity: 40, bin: 'C-03' }],
  ['damage', { sku: 'CHAIR-AALTO-OAK', quantity: 1, note: 'scratched leg' }],
  ['move', { sku: 'SOFA-OSLO-3S-GREY', quantity: 2, fromBin: 'A-01', toBin: 'SHOWROOM' }],
] as const;

const hubArgs = ['--port', String(hubPort), '--data', path.join(stateDir, 'hub')];
const hubEnv: Record<string, string> = {
  HUB_SMTP_URL: `smtp://127.0.0.1:${mailSmtpPort}`,
  HUB_MAIL_FROM: 'Nordhaus Furniture <orders@nordhaus.example>',
  DOVETAIL_ADMIN_SECRET: adminSecret,
  HUB_PUBLIC_URL: hub,
  HUB_BRAND_NAME: 'Nordhaus Furniture',
  // The demo's 3PL partner listens on loopback, as an on-premises partner would on a private network.
  HUB_WEBHOOK_ALLOW_PRIVATE: '1',
};
let hubProcess: ChildProcess | undefined;
/** Set once the walkthrough is done: from then on the hub may stop and return while the edge works on. */
let ready = false;

function startHub(): void {
  hubProcess = start('hub', 'hub/src/main.ts', hubArgs, hubEnv, (how) => {
    hubProcess = undefined;
    if (!ready) {
      console.error(`\nhub exited (${how}); see ${path.join(stateDir, 'hub.log')}`);
      stop(1);
      return;
    }
    console.log(`
  The hub stopped (${how}). The edge keeps working: scan on at ${edge}/, each scan is acknowledged
  and queued in the edge's outbox (GET ${edge}/api/v1/sync/status shows pendingUpstream).
  Bring the hub back on the same data: type r + Enter here, or in another terminal run
    ${hubCommand()}
  and the edge delivers its queue, each scan exactly once.`);
  });
}

/** A shell word as typed: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** The command that starts the demo's hub by hand, from the repository root, on the demo's data. */
function hubCommand(): string {
  const env = Object.entries(hubEnv).map(([name, value]) => `${name}=${shellWord(value)}`);
  return [...env, 'npm run hub --', ...hubArgs.map(shellWord)].join(' ');
}

/** `s` + Enter stops the hub, `r` + Enter starts it again: the offline story, tried by hand. */
function listenForCommands(): void {
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const command = line.trim().toLowerCase();
    if (command === 'r') {
      if (hubProcess) return console.log('  The hub is running.');
      console.log('  Starting the hub on the same data…');
      startHub();
      waitFor(`${hub}/healthz`, 'the hub').then(
        () => console.log(`  The hub is back on ${hub}; the edge reconnects and delivers what it queued.`),
        (error: Error) => console.error(`  ${error.message}`),
      );
    } else if (command === 's') {
      if (!hubProcess) return console.log('  The hub is not running: r + Enter starts it.');
      console.log('  Stopping the hub (SIGTERM)…');
      hubProcess.kill('SIGTERM');
    } else if (command !== '') {
      console.log('  s + Enter stops the hub, r + Enter starts it again, Ctrl-C stops everything.');
    }
  });
}

let stopping = false;
function stop(code = 0): void {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1_500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function main(): Promise<void> {
  fs.mkdirSync(stateDir, { recursive: true });
  console.log('\nDovetail demo: a hub and the edge of warehouse AMS (Amsterdam), each its own process\n');

  start('mail', 'demo/src/mail-catcher.ts', [], {
    MAIL_SMTP_PORT: String(mailSmtpPort),
    MAIL_WEB_PORT: String(mailWebPort),
    MAIL_DIR: path.join(stateDir, 'mail'),
  });
  await waitFor(mailbox, 'the demo mailbox');
  step(`a local mailbox catches the customer e-mails: ${mailbox} (files in ${path.join(stateDir, 'mail')})`);

  startHub();
  await waitFor(`${hub}/healthz`, 'the hub');
  step(`hub up on ${hub} (SQLite in ${path.join(stateDir, 'hub')})`);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'admin',
    client_secret: adminSecret,
  });
  const tokenResponse = await fetch(`${hub}/oauth/token`, { method: 'POST', body: form });
  if (!tokenResponse.ok)
    throw new Error(
      `admin token refused (${tokenResponse.status}): was .dovetail/demo made with another DOVETAIL_ADMIN_SECRET?`,
    );
  const admin = ((await tokenResponse.json()) as { access_token: string }).access_token;

  const existing = await api(hub, 'GET', '/api/v1/products?limit=50', admin);
  const known = new Set((existing.body.items as Array<{ name: string }>).map((product) => product.name));
  for (const product of catalog)
    if (!known.has(product.name)) await api(hub, 'POST', '/api/v1/products', admin, product);
  step(`catalog: ${catalog.length} products, ${catalog.reduce((n, p) => n + p.variants.length, 0)} SKUs`);

  if ((await api(hub, 'GET', '/api/v1/warehouses/AMS', admin)).status === 404) {
    await api(hub, 'POST', '/api/v1/warehouses', admin, {
      id: 'AMS',
      name: 'Amsterdam',
      kind: 'warehouse',
      location: { lat: 52.37, lon: 4.89 },
    });
  }
  // 201 the first time; 409 on a restart over the same data, when the account is already there.
  const opsAccount = await api(hub, 'POST', '/api/v1/staff', admin, { ...opsStaff, role: 'admin' });
  if (opsAccount.status !== 201 && opsAccount.status !== 409)
    throw new Error(`creating the console's staff account failed: ${JSON.stringify(opsAccount.body)}`);
  step(`hub staff account ${opsStaff.username} for the operations console`);

  const credentialsFile = path.join(stateDir, 'edge-AMS-credentials.json');
  if (!fs.existsSync(credentialsFile)) {
    const enrolled = await api(hub, 'POST', '/api/v1/warehouses/AMS/edges', admin, {});
    if (enrolled.status !== 201) throw new Error(`enrolling the edge failed: ${JSON.stringify(enrolled.body)}`);
    fs.writeFileSync(credentialsFile, JSON.stringify(enrolled.body), { mode: 0o600 });
  }
  const credentials = JSON.parse(fs.readFileSync(credentialsFile, 'utf8')) as {
    clientId: string;
    clientSecret: string;
  };
  step(`warehouse AMS enrolled its edge (client ${credentials.clientId}; secret kept in ${credentialsFile})`);

  start(
    'edge-AMS',
    'edge/src/main.ts',
    [
      '--warehouse',
      'AMS',
      '--port',
      String(edgePort),
      '--data',
      path.join(stateDir, 'edge-AMS'),
      '--hub',
      hub,
      '--client-id',
      credentials.clientId,
      '--client-secret',
      credentials.clientSecret,
    ],
    { EDGE_BOOTSTRAP_STAFF: `${staff.username}:${staff.password}` },
  );
  await waitFor(`${edge}/healthz`, 'the edge');
  const login = await api(edge, 'POST', '/api/v1/login', undefined, staff);
  const token = login.body.token as string;
  step(`edge up on ${edge}, staff sign in as ${staff.username} / ${staff.password}`);

  const status = await api(edge, 'GET', '/api/v1/sync/status', token);
  if (status.body.upstreamLastSeq === 0) {
    for (const [action, body] of scans) {
      const response = await api(edge, 'POST', `/api/v1/stock/${action}`, token, body);
      if (response.status !== 201) throw new Error(`scan ${action} ${body.sku}: ${JSON.stringify(response.body)}`);
    }
    step(`scanned at the edge: ${scans.map(([action, body]) => `${action} ${body.sku}`).join(', ')}`);
  }

  const startedMs = Date.now();
  for (;;) {
    const sync = await api(edge, 'GET', '/api/v1/sync/status', token);
    if (sync.body.connected && sync.body.pendingUpstream === 0) break;
    if (Date.now() - startedMs > 30_000)
      throw new Error(`the edge did not sync within 30 s: ${JSON.stringify(sync.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const atHub = await api(hub, 'GET', '/api/v1/inventory/SOFA-OSLO-3S-GREY', admin);
  step(`synced: the hub sees ${atHub.body.onHand} × SOFA-OSLO-3S-GREY at AMS, ${atHub.body.available} available`);

  const trackingUrl = await sellAndShip(admin, token);
  await sellInStore(admin, token);
  await partnerFulfils(admin);

  console.log(`
Try it:
  Scanner app (warehouse staff)   ${edge}/            sign in as ${staff.username} / ${staff.password}
  Customer's tracking page        ${trackingUrl}
  Customer's e-mails              ${mailbox}   (confirmation, shipped, out for delivery, delivered)
  Operations console (hub staff)  ${hub}/ops        sign in as ${opsStaff.username} / ${opsStaff.password}
  Hub API reference               ${hub}/docs
  3PL partner's log               ${stateDir}/partner.log  (every webhook verified with standardwebhooks)
  Edge sync status                ${edge}/api/v1/sync/status  (with the staff token)
  Logs                            ${stateDir}/*.log

  ADMIN=$(curl -s -X POST ${hub}/oauth/token -d grant_type=client_credentials -d client_id=admin \\
    -d client_secret=${shellWord(adminSecret)} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -w '\\n' ${hub}/api/v1/inventory/SOFA-OSLO-3S-GREY -H "authorization: Bearer $ADMIN"
  curl -s -w '\\n' ${hub}/api/v1/edges -H "authorization: Bearer $ADMIN"

  STAFF=$(curl -s -X POST ${edge}/api/v1/login -H 'content-type: application/json' \\
    -d '{"username":"${staff.username}","password":"${staff.password}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
  curl -s -w '\\n' -X POST ${edge}/api/v1/stock/receive -H "authorization: Bearer $STAFF" \\
    -H 'content-type: application/json' -d '{"sku":"CHAIR-AALTO-OAK","quantity":4,"bin":"C-03"}'
  curl -s -w '\\n' ${edge}/api/v1/sync/status -H "authorization: Bearer $STAFF"

Scan something in the scanner app and read it back at the hub. Then type s + Enter to stop the
hub and keep scanning: the edge queues, and when r + Enter brings the hub back on the same data,
everything arrives exactly once. Ctrl-C stops them all.`);
  ready = true;
  listenForCommands();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const startedMs = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - startedMs > 30_000) throw new Error(`${what} did not happen within 30 s; see ${stateDir}/*.log`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An online order end to end: hold, order, payment, the edge's pick list, pick, pack, ship, delivery. */
async function sellAndShip(admin: string, token: string): Promise<string> {
  const sku = 'SOFA-OSLO-3S-GREY';
  const placed = await api(hub, 'POST', '/api/v1/orders', admin, {
    lines: [{ sku, quantity: 1 }],
    customer: { email: 'ines@example.com', name: 'Inès Laurent' },
    shippingAddress: {
      line1: 'Keizersgracht 1',
      city: 'Amsterdam',
      postalCode: '1015 CJ',
      country: 'NL',
      location: { lat: 52.37, lon: 4.89 },
    },
  });
  if (placed.status !== 201) throw new Error(`placing an order failed: ${JSON.stringify(placed.body)}`);
  const orderId = placed.body.id as string;
  await api(hub, 'POST', `/api/v1/orders/${orderId}/payment`, admin, { reference: `psp_demo_${Date.now()}` });
  step(`online order ${placed.body.number} placed and paid: 1 × ${sku} held, then committed at AMS`);

  const fulfillment = await until('the fulfillment order reaching the edge', async () => {
    const list = await api(edge, 'GET', '/api/v1/fulfillments', token);
    return (
      list.body.items as Array<{ id: string; orderId: string; lines: Array<{ pickFrom: Array<{ bin: string }> }> }>
    ).find((item) => item.orderId === orderId);
  });
  const bin = fulfillment.lines[0]?.pickFrom[0]?.bin;
  step(`the edge's pick list shows it (pick from bin ${bin}); staff pick, pack and ship`);
  for (const [action, body] of [
    ['pick', { sku, quantity: 1, ...(bin ? { bin } : {}) }],
    ['pack', { packages: [{ weightGrams: 68_000, lengthMm: 2250, widthMm: 980, heightMm: 850 }] }],
    ['ship', { carrier: 'DHL Freight', trackingNumber: `JD0146${String(Date.now()).slice(-8)}` }],
  ] as const) {
    const response = await api(edge, 'POST', `/api/v1/fulfillments/${fulfillment.id}/${action}`, token, body);
    if (response.status !== 201) throw new Error(`${action} failed: ${JSON.stringify(response.body)}`);
  }
  const shipped = await until('the hub seeing the shipment', async () => {
    const order = await api(hub, 'GET', `/api/v1/orders/${orderId}`, admin);
    return order.body.status === 'shipped' ? order.body : undefined;
  });
  const shipment = shipped.shipments[0] as { id: string; carrier: string; trackingNumber: string };
  step(
    `the hub moved the order ${(shipped.history as Array<{ to: string }>).map((h) => h.to).join(' → ')}; tracking ${shipment.carrier} ${shipment.trackingNumber}`,
  );
  await carrierDelivers(admin, orderId, shipment);
  return shipped.trackingUrl as string;
}

/**
 * The carrier's side, simulated: a `carrier` API client (scoped to its carrier name) reports scans,
 * as a carrier or its aggregator would; the last one delivers the order.
 */
async function carrierDelivers(admin: string, orderId: string, shipment: { id: string; carrier: string }) {
  const carrier = await clientCredentials(admin, 'carrier-credentials.json', {
    name: `${shipment.carrier} tracking`,
    role: 'carrier',
    carrier: shipment.carrier,
  });
  const token = await clientToken(carrier);
  const day = 24 * 60 * 60 * 1000;
  const now = Date.now();
  const scans = [
    { status: 'in_transit', occurredAt: now + 60_000, location: 'Venlo hub', estimatedDeliveryAt: now + day },
    { status: 'out_for_delivery', occurredAt: now + 120_000, location: 'Amsterdam depot' },
    { status: 'delivered', occurredAt: now + 180_000, location: 'Amsterdam', description: 'Delivered to the door' },
  ];
  for (const [i, scan] of scans.entries()) {
    const response = await api(hub, 'POST', `/api/v1/shipments/${shipment.id}/events`, token, {
      ...scan,
      carrierEventId: `${shipment.id}-${i}`,
      occurredAt: new Date(scan.occurredAt).toISOString(),
      ...(scan.estimatedDeliveryAt ? { estimatedDeliveryAt: new Date(scan.estimatedDeliveryAt).toISOString() } : {}),
    });
    if (response.status !== 201 && response.status !== 200)
      throw new Error(`carrier scan failed: ${JSON.stringify(response.body)}`);
  }
  const order = await api(hub, 'GET', `/api/v1/orders/${orderId}`, admin);
  step(`the carrier reported ${scans.map((scan) => scan.status).join(' → ')}; the order reads ${order.body.status}`);
}

type ClientCredentials = { clientId: string; clientSecret: string };

/** An API client made once through the hub's API (as an admin would) and kept in the demo's state. */
async function clientCredentials(admin: string, file: string, body: object): Promise<ClientCredentials> {
  const stored = path.join(stateDir, file);
  if (fs.existsSync(stored)) return JSON.parse(fs.readFileSync(stored, 'utf8')) as ClientCredentials;
  const created = await api(hub, 'POST', '/api/v1/clients', admin, body);
  if (created.status !== 201) throw new Error(`creating a client failed: ${JSON.stringify(created.body)}`);
  fs.writeFileSync(stored, JSON.stringify(created.body), { mode: 0o600 });
  return created.body as ClientCredentials;
}

async function clientToken(credentials: ClientCredentials): Promise<string> {
  const response = await fetch(`${hub}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    }),
  });
  if (!response.ok) throw new Error(`token refused for ${credentials.clientId}: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * A 3PL warehouse with no edge: the partner writes its stock through the API, subscribes a webhook
 * endpoint, and its receiver (demo/src/partner.ts, its own process) accepts and ships what the hub
 * sends it, verifying every request with the standardwebhooks library.
 */
async function partnerFulfils(admin: string): Promise<void> {
  const warehouseId = 'TPL-PAR';
  const sku = 'SIDEBOARD-SORA-180';
  if ((await api(hub, 'GET', `/api/v1/warehouses/${warehouseId}`, admin)).status === 404) {
    await api(hub, 'POST', '/api/v1/warehouses', admin, {
      id: warehouseId,
      name: 'Paris 3PL (Logistique Seine)',
      kind: '3pl',
      location: { lat: 48.86, lon: 2.35 },
    });
  }
  const partner = await clientCredentials(admin, 'partner-credentials.json', {
    name: 'Logistique Seine',
    role: '3pl',
    warehouses: [warehouseId],
  });
  const token = await clientToken(partner);
  await api(hub, 'PUT', `/api/v1/warehouses/${warehouseId}/inventory/${sku}`, token, { onHand: 6 });
  const secretFile = path.join(stateDir, 'partner-webhook-secret');
  start('partner', 'demo/src/partner.ts', [], {
    PARTNER_PORT: String(partnerPort),
    HUB_URL: hub,
    PARTNER_CLIENT_ID: partner.clientId,
    PARTNER_CLIENT_SECRET: partner.clientSecret,
    PARTNER_SECRET_FILE: secretFile,
  });
  const url = `http://127.0.0.1:${partnerPort}/hooks/dovetail`;
  const endpoints = await api(hub, 'GET', '/api/v1/webhooks', token);
  const registered = (endpoints.body.items as Array<{ url: string }>).some((endpoint) => endpoint.url === url);
  if (!registered || !fs.existsSync(secretFile)) {
    const created = await api(hub, 'POST', '/api/v1/webhooks', token, {
      url,
      events: ['fulfillment_order.requested', 'fulfillment_order.cancel_requested'],
      description: 'Logistique Seine WMS',
    });
    if (created.status !== 201) throw new Error(`webhook endpoint refused: ${JSON.stringify(created.body)}`);
    fs.writeFileSync(secretFile, created.body.secret, { mode: 0o600 });
  }
  step(`3PL partner ${warehouseId}: stock written through the API, webhook endpoint ${url} subscribed`);
  const placed = await api(hub, 'POST', '/api/v1/orders', admin, {
    lines: [{ sku, quantity: 1 }],
    customer: { email: 'camille@example.com', name: 'Camille Martin' },
    shippingAddress: { line1: '8 rue de Rivoli', city: 'Paris', postalCode: '75004', country: 'FR' },
  });
  if (placed.status !== 201) throw new Error(`placing the 3PL order failed: ${JSON.stringify(placed.body)}`);
  await api(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, admin, { reference: `psp_demo_${Date.now()}` });
  const shipped = await until('the partner shipping the order', async () => {
    const order = await api(hub, 'GET', `/api/v1/orders/${placed.body.id}`, admin);
    return order.body.status === 'shipped' ? order.body : undefined;
  });
  const parcel = shipped.shipments[0] as { carrier: string; trackingNumber: string };
  step(
    `order ${placed.body.number} went to ${warehouseId}; the partner got fulfillment_order.requested (signature verified), accepted and shipped it: ${parcel.carrier} ${parcel.trackingNumber}`,
  );
}

/** Offline selling: the admin's quota policy grants the store rights the online channel can no longer sell. */
async function sellInStore(admin: string, token: string): Promise<void> {
  const sku = 'CHAIR-AALTO-OAK';
  await api(hub, 'PUT', '/api/v1/warehouses/AMS/quota-policy', admin, { defaultUnits: 0, skus: { [sku]: 5 } });
  await api(hub, 'POST', '/api/v1/warehouses/AMS/quotas/rebalance', admin, {});
  const quota = await until('the quota grant reaching the edge', async () => {
    const stock = await api(edge, 'GET', `/api/v1/stock/${sku}`, token);
    return stock.body.edgeQuota > 0 ? (stock.body.edgeQuota as number) : undefined;
  });
  const sale = await api(edge, 'POST', '/api/v1/stock/instore-sale', token, {
    sku,
    quantity: 1,
    saleId: `POS-${Date.now()}`,
  });
  if (sale.status !== 201) throw new Error(`in-store sale failed: ${JSON.stringify(sale.body)}`);
  const online = await api(hub, 'GET', `/api/v1/inventory/${sku}`, admin);
  step(
    `quota policy: ${quota} × ${sku} granted to the showroom (online sees ${online.body.available} available); one sold in store, offline-safe`,
  );
}

main().catch((error: Error) => {
  console.error(`\ndemo failed: ${error.message}`);
  stop(1);
});
