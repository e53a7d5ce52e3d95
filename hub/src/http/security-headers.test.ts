import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';

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
