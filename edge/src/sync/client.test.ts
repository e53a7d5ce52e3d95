import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createLogger } from '../logger.ts';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';
import { EdgeSyncClient } from './client.ts';

/**
 * The sync client against a hub that hands out tokens but never answers the WebSocket upgrade (a
 * hub wedged under load, a middlebox holding the request): the keepalive must leave a socket that
 * is still opening alone. ws throws on a ping before the socket is open, and from a timer that
 * took the whole edge process down (seen in the many-warehouses bench with a loaded hub).
 */
let edge: TestEdge;
let hub: http.Server;
let held: Duplex[];
let upgradeSeen: Promise<void>;

beforeEach(async () => {
  edge = await startTestEdge();
  held = [];
  let seen: () => void = () => {};
  upgradeSeen = new Promise<void>((resolve) => {
    seen = resolve;
  });
  const claims = Buffer.from(JSON.stringify({ epoch: 1, exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
    'base64url',
  );
  hub = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: `e30.${claims}.c2ln`, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  hub.on('upgrade', (_request, socket: Duplex) => {
    held.push(socket);
    seen();
  });
  await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  vi.useRealTimers();
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => hub.close(() => resolve()));
  await stopTestEdge(edge);
});

it('sends no ping on a socket whose upgrade the hub has not answered yet', async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  const client = new EdgeSyncClient({
    db: edge.db,
    hubUrl: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    clientId: 'edge-client',
    clientSecret: 'edge-secret',
    warehouseId: 'W1',
    edgeId: edge.edgeId,
    logger: createLogger({}, 'silent'),
    applyChange: () => 'skipped',
  });
  const running = client.run();
  await upgradeSeen;
  // Several keepalive intervals pass while the upgrade is still unanswered: nothing may throw.
  expect(() => vi.advanceTimersByTime(35_000)).not.toThrow();
  expect(client.status.connected).toBe(false);
  await client.stop();
  vi.useRealTimers();
  await running;
});
