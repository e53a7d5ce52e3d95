import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { dropPostgresSchema } from '@dovetail/hub';
import { afterAll, describe, expect, it } from 'vitest';
import { type HubProcess, api, freePort, killGroup, startHub, token } from './hub-process.ts';

/**
 * The hub as a real process on each adapter: a token, products created and updated with ETags,
 * SIGKILL, restart, and everything acknowledged before the kill reads back; then a SIGTERM stops
 * it cleanly. PostgreSQL runs where DOVETAIL_TEST_DATABASE_URL answers (required in CI).
 */
const postgresUrl = process.env['DOVETAIL_TEST_DATABASE_URL'] || process.env['DATABASE_URL'] || '';
const postgresRequired = Boolean(process.env['DOVETAIL_REQUIRE_POSTGRES']);

function answers(url: string): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname, port: Number(parsed.port || 5432) });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

type Adapter = { name: string; env: () => Record<string, string>; cleanup: () => Promise<void> };

const schema = `xp_${Date.now().toString(36)}_${process.pid}`;
const adapters: Adapter[] = [{ name: 'sqlite', env: () => ({}), cleanup: async () => {} }];
if (postgresUrl || postgresRequired) {
  adapters.push({
    name: 'postgres',
    env: () => ({ DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema }),
    cleanup: () => (postgresUrl ? dropPostgresSchema(postgresUrl, schema) : Promise.resolve()),
  });
}

const running: HubProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const hub of running) killGroup(hub.child, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const adapter of adapters) await adapter.cleanup();
});

describe.each(adapters)('hub process on $name', (adapter) => {
  it('keeps products and their versions across SIGKILL and restart, and stops cleanly on SIGTERM', async () => {
    if (adapter.name === 'postgres') {
      expect(postgresUrl, 'DOVETAIL_REQUIRE_POSTGRES is set but no DOVETAIL_TEST_DATABASE_URL').not.toBe('');
      expect(await answers(postgresUrl), `PostgreSQL at ${postgresUrl} does not answer`).toBe(true);
    }
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-xp-'));
    dirs.push(dataDir);
    const port = await freePort();
    let hub = await startHub({ port, dataDir, env: adapter.env() });
    running.push(hub);

    const first = await token(hub.url);
    const products: Array<{ id: string; etag: string }> = [];
    for (let index = 0; index < 5; index++) {
      const created = await api(hub.url, 'POST', '/api/v1/products', {
        token: first,
        body: {
          name: `Process sofa ${index}`,
          category: 'sofa',
          basePrice: 100_000 + index,
          currency: 'EUR',
          variants: [{ sku: `XP-${adapter.name}-${index}`, options: { color: 'grey' } }],
        },
      });
      expect(created.status).toBe(201);
      products.push({ id: created.body['id'] as string, etag: created.etag! });
    }
    // Update the first three: each needs the ETag it read; a stale one is refused.
    for (const [index, product] of products.slice(0, 3).entries()) {
      const read = await api(hub.url, 'GET', `/api/v1/products/${product.id}`, { token: first });
      const updated = await api(hub.url, 'PUT', `/api/v1/products/${product.id}`, {
        token: first,
        ifMatch: read.etag!,
        body: { name: `Process sofa ${index} v2`, category: 'sofa', material: 'linen', basePrice: 90_000, currency: 'EUR' },
      });
      expect(updated.status).toBe(200);
      expect(updated.etag).toBe('"2"');
      const stale = await api(hub.url, 'PUT', `/api/v1/products/${product.id}`, {
        token: first,
        ifMatch: read.etag!,
        body: { name: 'lost update', category: 'sofa', basePrice: 1, currency: 'EUR' },
      });
      expect(stale.status).toBe(412);
    }

    killGroup(hub.child, 'SIGKILL');
    await hub.exited;
    hub = await startHub({ port, dataDir, env: adapter.env() });
    running.push(hub);

    // Signing keys persisted: the token minted before the crash still verifies.
    const list = await api(hub.url, 'GET', '/api/v1/products?category=sofa&limit=500', { token: first });
    expect(list.status).toBe(200);
    const second = await token(hub.url);
    for (const [index, product] of products.entries()) {
      const read = await api(hub.url, 'GET', `/api/v1/products/${product.id}`, { token: second });
      expect(read.status).toBe(200);
      const version = index < 3 ? 2 : 1;
      expect(read.etag).toBe(`"${version}"`);
      expect(read.body['name']).toBe(index < 3 ? `Process sofa ${index} v2` : `Process sofa ${index}`);
    }
    const next = await api(hub.url, 'PUT', `/api/v1/products/${products[0]!.id}`, {
      token: second,
      ifMatch: '"2"',
      body: { name: 'Process sofa 0 v3', category: 'sofa', basePrice: 80_000, currency: 'EUR' },
    });
    expect(next.status).toBe(200);
    expect(next.etag).toBe('"3"');

    killGroup(hub.child, 'SIGTERM');
    const code = await Promise.race([hub.exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
    expect(code, hub.output()).toBe(0);
  });
});
