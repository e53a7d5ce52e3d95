import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, sofa, startTestHub, type TestHub } from '../testing/harness.ts';

/**
 * Who gets into the operations console and what a forged request gets: no session is sent to the
 * sign-in page, a wrong password or a role without the console gets no cookie, the session cookie
 * is HttpOnly/SameSite=Strict (Secure behind TLS), a POST without the CSRF token or from another
 * origin changes nothing, and a signed-out session no longer opens anything. The hub's `/` is the
 * HTML page linking the API reference, the console and health.
 */
let hub: TestHub;

const staff = {
  ops: { username: 'olga', password: 'olga-password-123', role: 'admin' },
  cs: { username: 'carl', password: 'carl-password-123', role: 'customer_service' },
  picker: { username: 'pia', password: 'pia-password-123', role: 'warehouse_staff', warehouses: ['AMS'] },
} as const;

type Answer = { status: number; headers: Headers; text: string };

async function request(
  path: string,
  init: { method?: string; cookie?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie) headers['cookie'] = init.cookie;
  let body: string | undefined;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await hub.app.request(`http://hub.test${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The sign-in form as a browser posts it (same origin) → the answer and the session cookie it set. */
async function signIn(
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{ answer: Answer; cookie: string | undefined; setCookie: string }> {
  const answer = await request('/ops/sign-in', {
    method: 'POST',
    form: { username, password, next: '/ops/edges' },
    headers: { origin: 'http://hub.test', ...headers },
  });
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const match = /dovetail_ops=([^;]+)/.exec(setCookie);
  return { answer, cookie: match?.[1] ? `dovetail_ops=${match[1]}` : undefined, setCookie };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

describe('the operations console: sign-in, roles and CSRF', () => {
  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    const token = await adminToken(hub);
    const warehouse = await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'AMS', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.37, lon: 4.89 } },
    });
    expect(warehouse.status).toBe(201);
    for (const person of Object.values(staff)) {
      const created = await call(hub, 'POST', '/api/v1/staff', {
        token,
        body: { warehouses: [], ...person },
      });
      expect(created.status).toBe(201);
    }
  });
  afterAll(() => hub.dispose());

  it('serves / as an HTML page linking the docs, the console and health', async () => {
    const home = await request('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toContain('text/html');
    for (const link of ['href="/docs"', 'href="/ops"', 'href="/healthz"']) expect(home.text).toContain(link);
    expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('sends a visitor without a session to the sign-in page, which is HTML under a strict CSP', async () => {
    const page = await request('/ops/orders?status=processing');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(
      `/ops/sign-in?next=${encodeURIComponent('/ops/orders?status=processing')}`,
    );
    const form = await request('/ops/sign-in');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<form method="post" action="/ops/sign-in">');
    const policy = form.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-inline');
    expect(form.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses a wrong password with a message and no cookie', async () => {
    const { answer, cookie } = await signIn(staff.ops.username, 'not-the-password');
    expect(answer.status).toBe(401);
    expect(answer.text).toContain('Wrong username or password.');
    expect(cookie).toBeUndefined();
  });

  it('signs staff in with an HttpOnly, SameSite=Strict cookie for /ops, Secure behind TLS', async () => {
    const { answer, cookie, setCookie } = await signIn(staff.ops.username, staff.ops.password);
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/ops/edges');
    expect(cookie).toBeDefined();
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/ops/);
    expect(setCookie).not.toMatch(/Secure/i);
    const page = await request('/ops', { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain('olga · admin');
    const behindTls = await signIn(staff.ops.username, staff.ops.password, { 'x-forwarded-proto': 'https' });
    expect(behindTls.setCookie).toMatch(/Secure/i);
  });

  it('answers 403 to a role without the console, at sign-in and with its token as the cookie', async () => {
    const { answer, cookie } = await signIn(staff.picker.username, staff.picker.password);
    expect(answer.status).toBe(303); // the password was right: a session, but no page opens
    const page = await request('/ops', { cookie });
    expect(page.status).toBe(403);
    expect(page.text).toContain('does not include the operations console');
    const login = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: staff.picker.username, password: staff.picker.password },
    });
    expect((await request('/ops/stock', { cookie: `dovetail_ops=${login.body.token}` })).status).toBe(403);
  });

  it('shows each role only its pages: customer service reads orders but not webhooks', async () => {
    const { cookie } = await signIn(staff.cs.username, staff.cs.password);
    expect((await request('/ops/orders', { cookie })).status).toBe(200);
    const webhooks = await request('/ops/webhooks', { cookie });
    expect(webhooks.status).toBe(403);
    const overview = await request('/ops', { cookie });
    expect(overview.text).not.toContain('href="/ops/webhooks"');
  });

  it('refuses a POST without the CSRF token or from another origin, and changes nothing', async () => {
    const { cookie } = await signIn(staff.ops.username, staff.ops.password);
    const page = await request('/ops/webhooks', { cookie });
    const csrf = csrfOf(page.text);
    expect(csrf).toBeDefined();
    const noToken = await request('/ops/sign-out', {
      method: 'POST',
      cookie,
      form: {},
      headers: { origin: 'http://hub.test' },
    });
    expect(noToken.status).toBe(403);
    const forged = await request('/ops/sign-out', {
      method: 'POST',
      cookie,
      form: { csrf: csrf as string },
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    const retry = await request('/ops/webhooks/retry', {
      method: 'POST',
      cookie,
      form: { csrf: 'forged', endpointId: 'x', deliveryId: 'y' },
      headers: { origin: 'http://hub.test' },
    });
    expect(retry.status).toBe(403);
    expect((await request('/ops', { cookie })).status).toBe(200); // still signed in
  });

  it('signs out: the cookie is cleared and the old session opens nothing', async () => {
    const { cookie } = await signIn(staff.ops.username, staff.ops.password);
    const csrf = csrfOf((await request('/ops', { cookie })).text) as string;
    const out = await request('/ops/sign-out', {
      method: 'POST',
      cookie,
      form: { csrf },
      headers: { origin: 'http://hub.test' },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ops/sign-in');
    expect(out.headers.get('set-cookie')).toMatch(/dovetail_ops=;.*Max-Age=0/i);
    expect((await request('/ops', { cookie })).status).toBe(303);
  });

  it('retries a webhook delivery through the webhooks feature, reporting what it did', async () => {
    const { cookie } = await signIn(staff.ops.username, staff.ops.password);
    const csrf = csrfOf((await request('/ops/webhooks', { cookie })).text) as string;
    const unknown = await request('/ops/webhooks/retry', {
      method: 'POST',
      cookie,
      form: { csrf, endpointId: 'no-such-endpoint', deliveryId: 'no-such-delivery' },
      headers: { origin: 'http://hub.test' },
    });
    expect(unknown.status).toBe(303);
    const location = unknown.headers.get('location') ?? '';
    expect(location).toMatch(/^\/ops\/webhooks\?failed=/);
    const shown = await request(location, { cookie });
    expect(shown.text).toContain('Not retried:');
  });
});

describe.each(['sqlite', 'postgres'] as const)('every console page on %s', (adapter) => {
  let orderNumber = '';
  beforeAll(async () => {
    hub = await startTestHub(adapter, { webhooks: { allowPrivate: true } });
    const token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/staff', { token, body: { ...staff.ops, warehouses: [] } })).status).toBe(
      201,
    );
    const warehouse = await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'PAR', name: 'Paris', kind: '3pl', location: { lat: 48.86, lon: 2.35 } },
    });
    expect(warehouse.status).toBe(201);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-1') })).status).toBe(201);
    const stock = await call(hub, 'PUT', '/api/v1/warehouses/PAR/inventory/SOFA-1', { token, body: { onHand: 3 } });
    expect(stock.status).toBe(200);
    const order = await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: {
        customer: { email: 'ines@example.com', name: 'Inès Laurent' },
        shippingAddress: { line1: 'Rue de Rivoli 1', city: 'Paris', postalCode: '75001', country: 'FR' },
        lines: [{ sku: 'SOFA-1', quantity: 2 }],
      },
    });
    expect(order.status).toBe(201);
    orderNumber = order.body.number;
    // Nothing listens on port 9 of loopback: the ping's first attempt fails and a retry is scheduled.
    const endpoint = await call(hub, 'POST', '/api/v1/webhooks', {
      token,
      body: { url: 'http://127.0.0.1:9/hook', events: ['order.created'] },
    });
    expect(endpoint.status).toBe(201);
    expect((await call(hub, 'POST', `/api/v1/webhooks/${endpoint.body.id}/test`, { token, body: {} })).status).toBe(
      202,
    );
  });
  afterAll(() => hub.dispose());

  it('renders each page for an admin, with its heading and under the CSP', async () => {
    const { cookie } = await signIn(staff.ops.username, staff.ops.password);
    const pages: Array<[string, string]> = [
      ['/ops', 'Overview'],
      ['/ops/stock?sku=SOFA', 'Stock by SKU and warehouse'],
      ['/ops/stock/holds?sku=SOFA-1', 'Holds on SOFA-1'],
      ['/ops/edges', 'Edges'],
      ['/ops/orders?status=processing', 'Orders'],
      ['/ops/shortages', 'Shortages and backorders'],
      ['/ops/webhooks', 'Webhooks'],
      [`/ops/orders/${orderNumber}`, `Order ${orderNumber}`],
    ];
    for (const [path, heading] of pages) {
      const page = await request(path, { cookie });
      expect(page.status, path).toBe(200);
      expect(page.text, path).toContain(`<h1>${heading}</h1>`);
      expect(page.headers.get('content-security-policy'), path).toContain("default-src 'none'");
    }
    const webhooks = await request('/ops/webhooks', { cookie });
    expect(webhooks.text).toContain('http://127.0.0.1:9/hook');
    expect((await request('/ops/no-such-page', { cookie })).status).toBe(404);
    expect((await request('/ops/orders/DT-0000-0000', { cookie })).status).toBe(404);
  });
});
