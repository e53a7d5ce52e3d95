import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, startEdgeProcess } from '../support/edge-process.ts';
import { type HubProcess, hubAdminSecret, startHubProcess } from '../support/hub-process.ts';
import { type TestCa, createTestCa, httpsJson } from '../support/test-ca.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * TLS everywhere (docs/operations.md): a hub and an edge started as real processes with
 * `HUB_TLS_*`/`EDGE_TLS_*` and a CA made here with openssl; the edge trusts that CA (`EDGE_HUB_CA`)
 * and syncs over wss. An edge trusting another CA logs a certificate error and never connects.
 */
describe('hub and edge over TLS with a test CA', () => {
  const cleanup = new Cleanup();
  let dir: string;
  let trusted: TestCa;
  let other: TestCa;
  let hub: HubProcess;
  let admin = '';

  const enroll = async (warehouseId: string) => {
    const warehouse = await httpsJson(`${hub.baseUrl}/api/v1/warehouses`, trusted.ca, {
      method: 'POST',
      token: admin,
      body: {
        id: warehouseId,
        name: `Warehouse ${warehouseId}`,
        kind: 'warehouse',
        location: { lat: 52.37, lon: 4.89 },
      },
    });
    expect(warehouse.status).toBe(201);
    const enrolled = await httpsJson<{ clientId: string; clientSecret: string }>(
      `${hub.baseUrl}/api/v1/warehouses/${warehouseId}/edges`,
      trusted.ca,
      { method: 'POST', token: admin, body: {} },
    );
    expect(enrolled.status).toBe(201);
    return enrolled.body;
  };

  const startTlsEdge = async (warehouseId: string, hubCaFile: string): Promise<EdgeProcess> => {
    const credentials = await enroll(warehouseId);
    const edge = await startEdgeProcess({
      dataDir: path.join(dir, `edge-${warehouseId}`),
      warehouseId,
      hub: { url: hub.baseUrl, ...credentials },
      ca: trusted.ca,
      env: { EDGE_TLS_CERT: trusted.certFile, EDGE_TLS_KEY: trusted.keyFile, EDGE_HUB_CA: hubCaFile },
    });
    cleanup.add(`edge ${warehouseId}`, () => edge.kill());
    return edge;
  };

  const edgeToken = async (edge: EdgeProcess) => {
    const login = await httpsJson<{ token: string }>(`${edge.baseUrl}/api/v1/login`, trusted.ca, {
      method: 'POST',
      body: bootstrapStaff,
    });
    expect(login.status).toBe(200);
    return login.body.token;
  };

  beforeAll(async () => {
    dir = createTempDir('tls');
    cleanup.add('temp dir', () => removeTempDir(dir));
    trusted = await createTestCa(path.join(dir, 'ca'), 'trusted');
    other = await createTestCa(path.join(dir, 'other'), 'other');
    hub = await startHubProcess({
      dataDir: path.join(dir, 'hub'),
      ca: trusted.ca,
      env: { HUB_TLS_CERT: trusted.certFile, HUB_TLS_KEY: trusted.keyFile },
    });
    cleanup.add('hub', () => hub.kill());
    const token = await httpsJson<{ access_token: string }>(`${hub.baseUrl}/oauth/token`, trusted.ca, {
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'admin',
        client_secret: hubAdminSecret,
      }).toString(),
    });
    expect(token.status).toBe(200);
    admin = token.body.access_token;
    const product = await httpsJson(`${hub.baseUrl}/api/v1/products`, trusted.ca, {
      method: 'POST',
      token: admin,
      body: {
        name: 'Sofa TLS',
        category: 'sofa',
        basePrice: 99_900,
        currency: 'EUR',
        variants: [{ sku: 'SOFA-TLS', options: {} }],
      },
    });
    expect(product.status).toBe(201);
  }, 120_000);

  afterAll(() => cleanup.runAll(), 60_000);

  it('serves HTTPS only, with Strict-Transport-Security on its answers', async () => {
    expect(hub.baseUrl).toMatch(/^https:/);
    const health = await httpsJson(`${hub.baseUrl}/healthz`, trusted.ca);
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    const missing = await httpsJson(`${hub.baseUrl}/api/v1/nowhere`, trusted.ca);
    expect(missing.status).toBe(404);
    expect(missing.headers['strict-transport-security']).toBe('max-age=31536000');
    // Plain HTTP on the TLS port gets no answer, let alone a 200.
    const plain = await fetch(`http://127.0.0.1:${hub.port}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
    // A client that does not trust the test CA is refused by its own TLS check.
    await expect(httpsJson(`${hub.baseUrl}/healthz`, other.ca)).rejects.toThrow(/certificate/);
  });

  it('syncs an edge over wss: a scan at the HTTPS edge reaches the hub', async () => {
    const edge = await startTlsEdge('W1', trusted.caFile);
    expect(edge.baseUrl).toMatch(/^https:/);
    const health = await httpsJson(`${edge.baseUrl}/healthz`, trusted.ca);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    const token = await edgeToken(edge);
    const received = await httpsJson(`${edge.baseUrl}/api/v1/stock/receive`, trusted.ca, {
      method: 'POST',
      token,
      body: { sku: 'SOFA-TLS', quantity: 7 },
    });
    expect(received.status).toBe(201);
    expect(received.headers['strict-transport-security']).toBe('max-age=31536000');
    const onHand = await waitUntil(
      'the scan at the hub',
      async () => {
        const answer = await httpsJson<{ warehouses?: Array<{ warehouseId: string; onHand: number }> }>(
          `${hub.baseUrl}/api/v1/inventory/SOFA-TLS`,
          trusted.ca,
          { token: admin },
        );
        const found = answer.body.warehouses?.find((entry) => entry.warehouseId === 'W1')?.onHand;
        return found === 7 ? found : undefined;
      },
      { timeoutMs: 30_000, describe: () => edge.output().slice(-2_000) },
    );
    expect(onHand).toBe(7);
    const status = await httpsJson<{ connected: boolean }>(`${edge.baseUrl}/api/v1/sync/status`, trusted.ca, { token });
    expect(status.body.connected).toBe(true);
  }, 120_000);

  it('refuses a hub whose certificate another CA signed: logs a certificate error, never connects', async () => {
    const edge = await startTlsEdge('W2', other.caFile);
    await waitUntil(
      'a certificate error in the edge log',
      () => (/TLS certificate is not trusted.*--hub-ca/.test(edge.output()) ? true : undefined),
      { timeoutMs: 30_000, describe: () => edge.output().slice(-2_000) },
    );
    const token = await edgeToken(edge);
    const status = await httpsJson<{ connected: boolean; lastError: string | null }>(
      `${edge.baseUrl}/api/v1/sync/status`,
      trusted.ca,
      { token },
    );
    expect(status.body.connected).toBe(false);
    expect(status.body.lastError).toMatch(/certificate/);
    expect(edge.output()).not.toMatch(/sync link up/);
  }, 120_000);
});
