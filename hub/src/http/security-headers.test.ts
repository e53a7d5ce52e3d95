import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSecret, adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';

describe('security headers on hub responses', () => {
  let hub: TestHub;
  let dataDir: string;
  let admin: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-headers-'));
    hub = await startTestHub('sqlite', { sqliteFile: path.join(dataDir, 'hub.db') });
    admin = await adminToken(hub);
  });
  afterAll(async () => {
    await hub?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends X-Content-Type-Options: nosniff on every kind of answer', async () => {
    const answers = [
      await call(hub, 'GET', '/healthz'),
      await call(hub, 'GET', '/api/v1/products', { token: admin }),
      await call(hub, 'GET', '/api/v1/products'),
      await call(hub, 'GET', '/nowhere'),
      await call(hub, 'GET', '/api/v1/openapi.json'),
      await call(hub, 'GET', '/docs'),
      await call(hub, 'GET', '/trpc/catalog.listProducts', { token: admin }),
    ];
    for (const answer of answers) expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keeps token, sign-in and authenticated answers out of caches', async () => {
    const token = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'admin', client_secret: adminSecret }),
    });
    expect(token.headers.get('cache-control')).toBe('no-store');
    const refused = await call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'nobody', password: 'wrong' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    // Answers behind a token carry no-store unless the route chose its own caching (the catalog
    // revalidates with ETags): the API clients list is one that did not.
    const listed = await call(hub, 'GET', '/api/v1/clients', { token: admin });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('cache-control')).toBe('no-store');
    const viaTrpc = await call(hub, 'GET', `/trpc/clients.list?input=${encodeURIComponent('{}')}`, { token: admin });
    expect(viaTrpc.status).toBe(200);
    expect(viaTrpc.headers.get('cache-control')).toBe('no-store');
  });

  it('serves /docs with a CSP that allows only its own inline code, and no framing', async () => {
    const docs = await hub.app.request('/docs');
    const html = await docs.text();
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    for (const [, script] of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
      expect(csp).toContain(
        `'sha256-${createHash('sha256')
          .update(script ?? '')
          .digest('base64')}'`,
      );
    }
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
  });

  it('does not print the database path at /readyz', async () => {
    const ready = await call(hub, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(JSON.stringify(ready.body)).not.toContain(dataDir);
    expect(JSON.stringify(ready.body)).not.toContain('hub.db');
  });
});
