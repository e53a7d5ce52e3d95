import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { withTimeout } from './cleanup.ts';
import { waitForHealthy } from './http.ts';
import { edgeMain, repoRoot } from './paths.ts';
import { freePort } from './ports.ts';

export const bootstrapStaff = { username: 'lead', password: 'lead-password-123' };

export type EdgeProcessOptions = {
  dataDir: string;
  warehouseId?: string;
  /** A fixed port (a restart on the same address); a free one otherwise. */
  port?: number;
  /** pino level; `warn` keeps per-request logs out of the pipe. */
  logLevel?: string;
  env?: Record<string, string>;
  /** Extra flags for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
};

export type EdgeProcess = {
  pid: number;
  port: number;
  baseUrl: string;
  dataDir: string;
  /** Resolves when the process has exited (any cause). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole process group, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (the edge finishes queued writes and exits), SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last few KB of the child's stdout and stderr, for failure messages. */
  output(): string;
};

const outputBytesKept = 16 * 1024;
const live = new Set<number>();

// If the test runner itself dies, leave no edge behind: kill every group still running, synchronously.
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
 * Starts `node --import tsx edge/src/main.ts` as a real process in its own process group (setsid),
 * so the pid is the server itself and a SIGKILL to the group leaves nothing behind. Resolves once
 * /healthz answers; a port taken in the meantime is retried on a fresh one.
 */
export async function startEdgeProcess(options: EdgeProcessOptions): Promise<EdgeProcess> {
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await spawnEdge(options, port);
    } catch (error) {
      lastError = error as Error;
      if (!/EADDRINUSE/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('edge did not start');
}

async function spawnEdge(options: EdgeProcessOptions, port: number): Promise<EdgeProcess> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', edgeMain, '--port', String(port), '--host', '127.0.0.1', '--data', options.dataDir, '--warehouse', options.warehouseId ?? 'W1'],
    {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        EDGE_BOOTSTRAP_STAFF: `${bootstrapStaff.username}:${bootstrapStaff.password}`,
        LOG_LEVEL: options.logLevel ?? 'warn',
        ...options.env,
      },
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the edge process');
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
  const baseUrl = `http://127.0.0.1:${port}`;
  const edge: EdgeProcess = {
    pid,
    port,
    baseUrl,
    dataDir: options.dataDir,
    exited,
    output: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(pid, 'SIGKILL');
      await withTimeout(exited, 10_000, `edge pid ${pid} after SIGKILL`);
    },
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      try {
        return await withTimeout(exited, timeoutMs + 10_000, `edge pid ${pid} after SIGTERM`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await waitForHealthy(baseUrl, {
      timeoutMs: options.startTimeoutMs ?? 30_000,
      gaveUp: () => (child.exitCode !== null || child.signalCode !== null ? `edge exited early:\n${output}` : undefined),
    });
  } catch (error) {
    await edge.kill().catch(() => {});
    throw error;
  }
  return edge;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export type VerifyRun = { exitCode: number; stdout: string; stderr: string; report: VerifyReport | undefined };
/** The JSON `verify` prints (edge/src/services/verify.ts), as far as the tests read it. */
export type VerifyReport = {
  ok: boolean;
  partitions: number;
  events: number;
  mismatches: Array<{ sku: string; differences: string[] }>;
  upstream: { lastSeq: number; ackedSeq: number; problems: string[] };
};

/** Runs `edge/src/main.ts verify --data DIR` as a real process, bounded in time. */
export function runEdgeVerify(dataDir: string, timeoutMs = 60_000): Promise<VerifyRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', edgeMain, 'verify', '--data', dataDir],
      { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: 'warn' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`verify did not run: ${error.message}\n${stderr}`));
          return;
        }
        let report: VerifyReport | undefined;
        try {
          report = JSON.parse(stdout) as VerifyReport;
        } catch {
          report = undefined;
        }
        resolve({ exitCode: error ? (error.code as number) : 0, stdout, stderr, report });
      },
    );
  });
}

/** VmRSS of a live process in bytes, from /proc (Linux); undefined elsewhere or once it has exited. */
export function residentSetBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
