import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { limits } from '@dovetail/shared';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSecret, adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';

/**
 * Sign-in throttling over real sockets from several loopback addresses (127.0.0.x all reach the
 * hub on Linux): failures slow down one address on one name, never the same name from elsewhere;
 * a flood of bogus names from one address is refused without clearing anyone's slow-down.
 */
describe('sign-in throttling by source address and name', () => {
  let hub: TestHub;
  let server: http.Server;
  let port: number;
  const clock = { ms: Date.parse('2026-12-07T12:00:00Z') };
  const agents = new Map<string, http.Agent>();
  let edgeClient: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { nowMs: () => clock.ms });
    server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    port = (server.address() as AddressInfo).port;
    const admin = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'AMS', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.37, lon: 4.89 } },
    });
    edgeClient = (await call(hub, 'POST', '/api/v1/warehouses/AMS/edges', { token: admin, body: {} })).body;
    const staff = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'bo', password: 'bo-password-123', role: 'supervisor', warehouses: ['AMS'] },
    });
    expect(staff.status).toBe(201);
  });
  afterAll(async () => {
    for (const agent of agents.values()) agent.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await hub?.dispose();
  });

  /** One POST from `from` (a loopback address) to the hub's socket. */
  function post(from: string, path: string, body: string, contentType: string) {
    let agent = agents.get(from);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 4, localAddress: from });
      agents.set(from, agent);
    }
    return new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': contentType } },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }
  const token = (from: string, clientId: string, clientSecret: string) =>
    post(
      from,
      '/oauth/token',
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
      'application/x-www-form-urlencoded',
    );
  const login = (from: string, username: string, password: string) =>
    post(from, '/api/v1/auth/login', JSON.stringify({ username, password }), 'application/json');

  it('never locks the admin or an edge client out from another address, and slows the guessing one', async () => {
    for (const [id, secret] of [
      ['admin', adminSecret],
      [edgeClient.clientId, edgeClient.clientSecret],
    ] as const) {
      for (let i = 0; i < limits.loginFailuresMax; i++)
        expect((await token('127.0.0.2', id, 'wrong')).status).toBe(401);
      // The right secret from another address: answered at once.
      expect((await token('127.0.0.3', id, secret)).status).toBe(200);
      // The guessing address is slowed down (not locked for a minute): 1 s, then it may try again.
      const slowed = await token('127.0.0.2', id, secret);
      expect(slowed.status).toBe(429);
      expect(slowed.retryAfter).toBe('1');
      clock.ms += 1_000;
      expect((await token('127.0.0.2', id, secret)).status).toBe(200);
    }
  });

  it('slows staff sign-in per address the same way', async () => {
    for (let i = 0; i < limits.loginFailuresMax; i++)
      expect((await login('127.0.0.4', 'bo', 'wrong')).status).toBe(401);
    expect((await login('127.0.0.4', 'bo', 'bo-password-123')).status).toBe(429);
    expect((await login('127.0.0.5', 'bo', 'bo-password-123')).status).toBe(200);
  });

  it('refuses a flood of bogus client ids per address, and the flood clears no slow-down', async () => {
    clock.ms += 3_600_000;
    for (let i = 0; i < limits.loginFailuresMax; i++)
      expect((await token('127.0.0.6', 'admin', 'wrong')).status).toBe(401);
    expect((await token('127.0.0.6', 'admin', adminSecret)).status).toBe(429);
    // More bogus ids than the old shared tracker held (10,000), from one address.
    const statuses = new Map<number, number>();
    const flood = 10_010;
    for (let start = 0; start < flood; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, flood - start) }, (_, i) => token('127.0.0.7', `bogus-${start + i}`, 'x')),
      );
      for (const { status } of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(statuses.get(401) ?? 0).toBeLessThanOrEqual(limits.signInSourceFailuresBurst);
    expect(statuses.get(429)).toBeGreaterThan(flood - limits.signInSourceFailuresBurst - 1);
    // The slowed-down address is still slowed down; everyone else still signs in.
    expect((await token('127.0.0.6', 'admin', adminSecret)).status).toBe(429);
    expect((await token('127.0.0.8', 'admin', adminSecret)).status).toBe(200);
  });
});
