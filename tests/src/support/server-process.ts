import { type ChildProcess, spawn } from 'node:child_process';
import https from 'node:https';
import { withTimeout } from './cleanup.ts';
import { waitForHealthy } from './http.ts';
import { repoRoot } from './paths.ts';
import { freePort } from './ports.ts';

export type ProcessExit = { code: number | null; signal: NodeJS.Signals | null };

export type ServerProcessOptions = {
  /** Used in messages: `edge`, `hub`. */
  name: string;
  /** The entry point, run as `node --import tsx <script> --port P <args…>` from the repo root. */
  script: string;
  args: string[];
  /** A fixed port (a restart on the same address); a free one otherwise, retried if taken meanwhile. */
  port?: number;
  env?: Record<string, string>;
  /** Extra flags for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** The server speaks HTTPS with a certificate from this CA (PEM): baseUrl is https, health probed with it. */
  ca?: Buffer;
};

export type ServerProcess = {
  pid: number;
  port: number;
  baseUrl: string;
  /** Resolves when the process has exited (any cause). */
  exited: Promise<ProcessExit>;
  /** SIGKILL to the whole process group, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ProcessExit>;
  /** The last few KB of the child's stdout and stderr, for failure messages. */
  output(): string;
};

const outputBytesKept = 16 * 1024;
const live = new Set<number>();

// If the test runner itself dies, leave no server behind: kill every group still running, synchronously.
process.once('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Starts `node --import tsx <script>` as a real process in its own process group (setsid), so the
 * pid is the server itself and a SIGKILL to the group leaves nothing behind. Resolves once /healthz
 * answers; a free port taken in the meantime is retried on a fresh one.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await spawnServer(options, port);
    } catch (error) {
      lastError = error as Error;
      if (!/EADDRINUSE/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error(`${options.name} did not start`);
}

async function spawnServer(options: ServerProcessOptions, port: number): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', options.script, '--port', String(port), ...options.args],
    {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn the ${options.name} process`);
  live.add(pid);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-outputBytesKept);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = exitOf(child).then((status) => {
    live.delete(pid);
    return status;
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const baseUrl = `${options.ca ? 'https' : 'http'}://127.0.0.1:${port}`;
  const server: ServerProcess = {
    pid,
    port,
    baseUrl,
    exited,
    output: () => output,
    async kill() {
      if (hasExited()) return;
      killGroup(pid, 'SIGKILL');
      await withTimeout(exited, 10_000, `${options.name} pid ${pid} after SIGKILL`);
    },
    async stop(timeoutMs = 10_000) {
      if (hasExited()) return exited;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      try {
        return await withTimeout(exited, timeoutMs + 10_000, `${options.name} pid ${pid} after SIGTERM`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await waitForHealthy(baseUrl, {
      timeoutMs: options.startTimeoutMs ?? 30_000,
      gaveUp: () => (hasExited() ? `${options.name} exited early:\n${output}` : undefined),
      ...(options.ca ? { probe: httpsProbe(options.ca) } : {}),
    });
  } catch (error) {
    await server.kill().catch(() => {});
    throw error;
  }
  return server;
}

/** GET over HTTPS, trusting `ca` only → the status code. */
function httpsProbe(ca: Buffer): (url: string) => Promise<number> {
  return (url) =>
    new Promise((resolve, reject) => {
      const request = https.get(url, { ca, timeout: 2_000 }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('timeout', () => request.destroy(new Error('no answer within 2 s')));
      request.on('error', reject);
    });
}

function exitOf(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}
