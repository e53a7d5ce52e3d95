import { type Permission, edgeStaffRoles, limits, permissions } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEdgeMetricsApp } from './metrics-app.ts';
import { type TestEdge, startTestEdge, stopTestEdge, supervisor } from '../test-support/node.ts';

let edge: TestEdge;
beforeEach(async () => {
  edge = await startTestEdge();
});
afterEach(() => stopTestEdge(edge));

type Json = Record<string, any>;

/** Every authenticated route with a valid request and the permission the policy table must require. */
const routes: Array<{ method: string; url: string; body?: unknown; permission: Permission | null }> = [
  { method: 'GET', url: '/api/v1/me', permission: null },
  { method: 'POST', url: '/api/v1/logout', permission: null },
  { method: 'GET', url: '/api/v1/stock', permission: 'stock.read' },
  { method: 'GET', url: '/api/v1/stock/SEED-1', permission: 'stock.read' },
  { method: 'GET', url: '/api/v1/stock/SEED-1/history', permission: 'stock.read' },
  { method: 'POST', url: '/api/v1/stock/receive', body: { sku: 'SEED-1', quantity: 1 }, permission: 'stock.record' },
  {
    method: 'POST',
    url: '/api/v1/stock/adjust',
    body: { sku: 'SEED-1', delta: 1, reason: 'found' },
    permission: 'stock.adjust',
  },
  {
    method: 'POST',
    url: '/api/v1/stock/count',
    body: { sku: 'SEED-1', countedQuantity: 50 },
    permission: 'stock.record',
  },
  { method: 'POST', url: '/api/v1/stock/damage', body: { sku: 'SEED-1', quantity: 1 }, permission: 'stock.record' },
  {
    method: 'POST',
    url: '/api/v1/stock/move',
    body: { sku: 'SEED-1', quantity: 1, fromBin: 'UNASSIGNED', toBin: 'Z-1' },
    permission: 'stock.record',
  },
  {
    method: 'POST',
    url: '/api/v1/stock/transfer-out',
    body: { sku: 'SEED-1', quantity: 1, transferId: 'T', toWarehouseId: 'W2' },
    permission: 'stock.record',
  },
  {
    method: 'POST',
    url: '/api/v1/stock/transfer-in',
    body: { sku: 'SEED-1', quantity: 1, transferId: 'T', fromWarehouseId: 'W2' },
    permission: 'stock.record',
  },
  {
    method: 'POST',
    url: '/api/v1/stock/instore-sale',
    body: { sku: 'SEED-1', quantity: 1 },
    permission: 'stock.instore_sale',
  },
  {
    method: 'POST',
    url: '/api/v1/stock/quota-return',
    body: { sku: 'SEED-1', quantity: 1 },
    permission: 'stock.adjust',
  },
  { method: 'GET', url: '/api/v1/staff', permission: 'staff.manage' },
  {
    method: 'POST',
    url: '/api/v1/staff',
    body: { username: 'new-person', password: 'new-person-pass', role: 'warehouse_staff' },
    permission: 'staff.manage',
  },
  { method: 'PATCH', url: '/api/v1/staff/other', body: { disabled: false }, permission: 'staff.manage' },
  { method: 'GET', url: '/api/v1/sync/status', permission: 'sync.read' },
  { method: 'GET', url: '/api/v1/sync/rejections', permission: 'sync.read' },
  { method: 'GET', url: '/api/v1/fulfillments', permission: 'fulfillments.read' },
  { method: 'GET', url: '/api/v1/fulfillments/F-1', permission: 'fulfillments.read' },
  { method: 'POST', url: '/api/v1/fulfillments/F-1/pick', body: { sku: 'SEED-1' }, permission: 'fulfillments.fulfill' },
  {
    method: 'POST',
    url: '/api/v1/fulfillments/F-1/pack',
    body: { packages: [{ weightGrams: 1000, lengthMm: 10, widthMm: 10, heightMm: 10 }] },
    permission: 'fulfillments.fulfill',
  },
  {
    method: 'POST',
    url: '/api/v1/fulfillments/F-1/ship',
    body: { carrier: 'DHL', trackingNumber: 'T1' },
    permission: 'fulfillments.fulfill',
  },
];

describe('signing in', () => {
  it('returns a token for the bootstrap supervisor, marked no-store', async () => {
    const response = await edge.call('POST', '/api/v1/login', { body: supervisor });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Json;
    expect(body.token).toMatch(/^dvt_edge_/);
    expect(body.staff).toMatchObject({ username: 'lead', role: 'supervisor', source: 'bootstrap' });
    expect(JSON.stringify(body)).not.toContain('password');
  });

  it('answers 401 alike for a wrong password and an unknown user', async () => {
    const wrong = await edge.call('POST', '/api/v1/login', { body: { username: 'lead', password: 'nope-nope-nope' } });
    const unknown = await edge.call('POST', '/api/v1/login', {
      body: { username: 'ghost', password: 'nope-nope-nope' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('locks a username out with 429 and Retry-After after repeated failures, even for the right password', async () => {
    for (let i = 0; i < limits.loginFailuresMax; i++) {
      expect(
        (await edge.call('POST', '/api/v1/login', { body: { username: 'lead', password: `guess-${i}-guess` } })).status,
      ).toBe(401);
    }
    const locked = await edge.call('POST', '/api/v1/login', { body: supervisor });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses a login body with unknown fields or a wrong content type', async () => {
    expect((await edge.call('POST', '/api/v1/login', { body: { ...supervisor, role: 'admin' } })).status).toBe(400);
    const form = await edge.call('POST', '/api/v1/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=lead&password=x',
    });
    expect(form.status).toBe(415);
  });

  it('creates the bootstrap supervisor only when no supervisor exists', async () => {
    expect(await edge.staff.bootstrap('second:second-password-1')).toBe('exists');
    expect(edge.staff.find('second')).toBeUndefined();
  });
});

describe('tokens', () => {
  it('are required on every /api/v1 route but login, with WWW-Authenticate', async () => {
    for (const route of routes) {
      const response = await edge.call(route.method, route.url, { body: route.body });
      expect(response.status, `${route.method} ${route.url}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="dovetail-edge"');
      expect(((await response.json()) as Json).error.code).toBe('unauthorized');
    }
  });

  it("are refused when forged, revoked or sent in the query string, in the hub's words", async () => {
    const forged = await edge.call('GET', '/api/v1/stock', { token: 'dvt_edge_forged' });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe('Bearer realm="dovetail-edge", error="invalid_token"');
    expect(((await forged.json()) as Json).error.code).toBe('unauthorized');
    expect((await edge.call('GET', '/api/v1/stock', { headers: { authorization: 'Basic bGVhZDpsZWFk' } })).status).toBe(
      401,
    );
    const token = await edge.login();
    const inQuery = await edge.call('GET', `/api/v1/stock?access_token=${token}`);
    expect(inQuery.status).toBe(401);
    expect(inQuery.headers.get('www-authenticate')).toBe('Bearer realm="dovetail-edge", error="invalid_request"');
    expect(((await inQuery.json()) as Json).error.code).toBe('token_in_query');
    expect((await edge.call('POST', '/api/v1/logout', { token })).status).toBe(204);
    expect((await edge.call('GET', '/api/v1/stock', { token })).status).toBe(401);
  });

  it('stop working at once when the staff account is disabled', async () => {
    const lead = await edge.login();
    await edge.call('POST', '/api/v1/staff', {
      token: lead,
      body: { username: 'picker', password: 'picker-password-1', role: 'warehouse_staff' },
    });
    const picker = await edge.login('picker', 'picker-password-1');
    expect((await edge.call('GET', '/api/v1/me', { token: picker })).status).toBe(200);
    const disabled = await edge.call('PATCH', '/api/v1/staff/picker', { token: lead, body: { disabled: true } });
    expect(((await disabled.json()) as Json).disabled).toBe(true);
    expect((await edge.call('GET', '/api/v1/me', { token: picker })).status).toBe(401);
    expect(
      (await edge.call('POST', '/api/v1/login', { body: { username: 'picker', password: 'picker-password-1' } }))
        .status,
    ).toBe(401);
  });
});

describe('the policy table decides every route', () => {
  it.each(edgeStaffRoles)('for role %s', async (role) => {
    const lead = await edge.login();
    await edge.call('POST', '/api/v1/stock/receive', { token: lead, body: { sku: 'SEED-1', quantity: 100 } });
    await edge.call('POST', '/api/v1/staff', {
      token: lead,
      body: { username: 'other', password: 'other-password-1', role: 'warehouse_staff' },
    });
    let token = lead;
    if (role !== 'supervisor') {
      await edge.call('POST', '/api/v1/staff', {
        token: lead,
        body: { username: 'subject', password: 'subject-password-1', role },
      });
      token = await edge.login('subject', 'subject-password-1');
    }
    for (const route of routes.filter((candidate) => candidate.url !== '/api/v1/logout')) {
      const response = await edge.call(route.method, route.url, { token, body: route.body });
      const allowed =
        route.permission === null || (permissions[route.permission].roles as readonly string[]).includes(role);
      // Allowed means the policy let it through: business answers (409 quota_exhausted) still count.
      if (allowed) expect([401, 403], `${role} ${route.method} ${route.url}`).not.toContain(response.status);
      else {
        expect(response.status, `${role} ${route.method} ${route.url}`).toBe(403);
        expect(((await response.json()) as Json).error.code).toBe('forbidden');
      }
    }
  });
});

describe('staff accounts', () => {
  it('refuses a duplicate username, a short password and disabling oneself', async () => {
    const token = await edge.login();
    const duplicate = await edge.call('POST', '/api/v1/staff', {
      token,
      body: { username: 'LEAD', password: 'another-password', role: 'supervisor' },
    });
    expect(duplicate.status).toBe(409);
    const short = await edge.call('POST', '/api/v1/staff', {
      token,
      body: { username: 'x', password: 'short', role: 'supervisor' },
    });
    expect(short.status).toBe(400);
    const self = await edge.call('PATCH', '/api/v1/staff/lead', { token, body: { disabled: true } });
    expect(self.status).toBe(422);
  });

  it('lists accounts without password hashes', async () => {
    const token = await edge.login();
    const body = (await (await edge.call('GET', '/api/v1/staff', { token })).json()) as Json;
    expect(body.items.map((item: Json) => item.username)).toEqual(['lead']);
    expect(JSON.stringify(body)).not.toContain('scrypt');
  });
});

describe('operations endpoints and unknown routes', () => {
  it('serves /healthz, and Prometheus metrics with latency and outbox depth on the metrics app only', async () => {
    expect((await edge.call('GET', '/healthz')).status).toBe(200);
    const token = await edge.login();
    await edge.call('POST', '/api/v1/stock/receive', { token, body: { sku: 'M-1', quantity: 1 } });
    // Not on the API port, which scanners on the LAN reach (docs/operations.md).
    expect((await edge.call('GET', '/metrics')).status).toBe(404);
    const response = await createEdgeMetricsApp(edge.metrics).request('/metrics');
    const metrics = await response.text();
    expect(metrics).toContain('dovetail_edge_outbox_depth 1');
    expect(metrics).toMatch(/dovetail_edge_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/stock\/receive"/);
  });

  it('answers 405 with Allow for a wrong verb and 404 for an unknown path, as JSON errors', async () => {
    const token = await edge.login();
    const wrongVerb = await edge.call('DELETE', '/api/v1/sync/status', { token });
    expect(wrongVerb.status).toBe(405);
    expect(wrongVerb.headers.get('allow')).toBe('GET');
    expect(((await wrongVerb.json()) as Json).error.code).toBe('method_not_allowed');
    const missing = await edge.call('GET', '/api/v1/nothing-here', { token });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Json).error.code).toBe('not_found');
  });
});

describe('the scanner app', () => {
  it('is served at / and /app/* under a strict Content-Security-Policy with no inline script or style', async () => {
    const response = await edge.call('GET', '/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const [file, type] of [
      ['/app/app.js', 'text/javascript'],
      ['/app/words.js', 'text/javascript'],
      ['/app/gs1.js', 'text/javascript'],
      ['/app/app.css', 'text/css'],
      ['/app/manifest.webmanifest', 'application/manifest+json'],
      ['/sw.js', 'text/javascript'],
    ] as const) {
      const asset = await edge.call('GET', file);
      expect(asset.status, file).toBe(200);
      expect(asset.headers.get('content-type'), file).toContain(type);
      expect(asset.headers.get('content-security-policy'), file).toBe(csp);
      const etag = asset.headers.get('etag') as string;
      expect((await edge.call('GET', file, { headers: { 'if-none-match': etag } })).status, file).toBe(304);
    }
  });

  it('serves the shared GS1 parser as a plain module and a service worker that lists the app shell', async () => {
    const gs1 = await (await edge.call('GET', '/app/gs1.js')).text();
    expect(gs1).toMatch(/export \{[^}]*\bparseGs1\b/);
    expect(gs1).not.toMatch(/: string\b|\btype Gs1/);
    const worker = await (await edge.call('GET', '/sw.js')).text();
    expect(worker).not.toContain('__VERSION__');
    expect(worker).toContain('["/","/app/app.js"');
  });
});
