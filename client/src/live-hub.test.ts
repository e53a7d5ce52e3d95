import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DovetailTokenError, createDovetailClient } from './index.ts';

/**
 * The client against a real hub process (SQLite in a temporary directory): it fetches a token with
 * client credentials, creates and reads catalog entries over tRPC, fetches a new token once the
 * current one nears its expiry, and on a 401 fetches a new one and retries the request once.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const adminSecret = 'client-package-admin-secret-0123456789';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-client-hub-'));
let hub: ChildProcess;
let hubUrl: string;
let output = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  hubUrl = `http://127.0.0.1:${port}`;
  hub = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'hub/src/main.ts'),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data',
      dataDir,
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        DOVETAIL_ADMIN_SECRET: adminSecret,
        LOG_LEVEL: 'warn',
        HUB_METRICS_PORT: 'off',
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  hub.stdout?.on('data', (chunk) => {
    output = `${output}${chunk}`.slice(-8000);
  });
  hub.stderr?.on('data', (chunk) => {
    output = `${output}${chunk}`.slice(-8000);
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const up = await fetch(`${hubUrl}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || hub.exitCode !== null) throw new Error(`the hub did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  if (hub.exitCode === null) {
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('createDovetailClient against a real hub', () => {
  it('signs in, refreshes before expiry and once on a 401, and reads and writes the catalog', async () => {
    let nowMs = Date.now();
    const tokenRequests: number[] = [];
    let spoilNextCall = false;
    const spied: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/oauth/token')) tokenRequests.push(nowMs);
      if (spoilNextCall && url.includes('/trpc/')) {
        spoilNextCall = false;
        const headers = new Headers(init?.headers);
        headers.set('authorization', 'Bearer not-a-token');
        return fetch(input, { ...init, headers });
      }
      return fetch(input, init);
    };
    const client = createDovetailClient({
      url: hubUrl,
      clientId: 'admin',
      clientSecret: adminSecret,
      fetch: spied,
      nowMs: () => nowMs,
    });

    const created = await client.catalog.create.mutate({
      name: 'Client package sofa',
      category: 'sofa',
      basePrice: 99_900,
      currency: 'EUR',
      variants: [{ sku: 'CLIENT-SOFA-1', options: { color: 'grey' } }],
    });
    expect(created.name).toBe('Client package sofa');
    expect(tokenRequests).toHaveLength(1);

    // Still fresh: no new token. Then a request answered 401 gets a new token and one retry.
    expect((await client.catalog.get.query({ id: created.id })).id).toBe(created.id);
    expect(tokenRequests).toHaveLength(1);
    spoilNextCall = true;
    const page = await client.catalog.list.query({ category: 'sofa' });
    expect(page.items.map((product) => product.id)).toContain(created.id);
    expect(tokenRequests).toHaveLength(2);

    // Within a minute of the 15-minute expiry the client fetches a new token before calling.
    nowMs += 14.5 * 60 * 1000;
    expect((await client.catalog.get.query({ id: created.id })).id).toBe(created.id);
    expect(tokenRequests).toHaveLength(3);
  });

  it('reports refused credentials as DovetailTokenError, with the status', async () => {
    const client = createDovetailClient({ url: hubUrl, clientId: 'admin', clientSecret: 'wrong-secret-0123456789' });
    const refused = await client.accessToken().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DovetailTokenError);
    expect((refused as DovetailTokenError).status).toBe(401);
  });
});
