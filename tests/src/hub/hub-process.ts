import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const adminSecret = 'cross-process-admin-secret-0123';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export type HubProcess = { url: string; child: ChildProcess; output: () => string; exited: Promise<number | null> };

/**
 * Starts `node --import tsx hub/src/main.ts` as its own process group and waits for /healthz. Env decides the adapter: DATABASE_URL selects PostgreSQL.
 */
export async function startHub(options: { port: number; dataDir: string; env?: Record<string, string> }): Promise<HubProcess> {
  // `node --import tsx`, not the tsx CLI: the CLI SIGKILLs its child if it does not acknowledge a
  // relayed signal within ~60 ms, which a loaded machine turns into a failed graceful shutdown.
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', '--port', String(options.port), '--data', options.dataDir], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOVETAIL_ADMIN_SECRET: adminSecret, LOG_LEVEL: 'warn', DATABASE_URL: '', ...options.env },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}: ${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return { url, child, output: () => output, exited };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`hub did not answer /healthz within 60 s: ${output}`);
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function token(url: string): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'admin', client_secret: adminSecret }).toString(),
  });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export async function api(
  url: string,
  method: string,
  route: string,
  options: { token: string; body?: unknown; ifMatch?: string },
): Promise<{ status: number; body: Record<string, unknown>; etag: string | null }> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  const response = await fetch(`${url}${route}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, etag: response.headers.get('etag') };
}
