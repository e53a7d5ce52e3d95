import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { edgeMain, repoRoot } from './paths.ts';
import { freePort } from './ports.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

export const bootstrapStaff = { username: 'lead', password: 'lead-password-123' };

export type EdgeProcessOptions = {
  dataDir: string;
  warehouseId?: string;
  /** A fixed port (a restart on the same address); a free one otherwise. */
  port?: number;
  /** The hub to sync with (`--hub`, `--client-id`, `--client-secret`); a standalone edge without. */
  hub?: { url: string; clientId: string; clientSecret: string };
  /** pino level; `warn` keeps per-request logs out of the pipe. */
  logLevel?: string;
  env?: Record<string, string>;
  /** Extra flags for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** Started with TLS (certificate and key by env): the CA its certificate chains to, for probing it. */
  ca?: Buffer;
};

export type EdgeProcess = ServerProcess & {
  dataDir: string;
  /** The separate metrics listener (`EDGE_METRICS_PORT` on loopback): `${metricsUrl}/metrics`. */
  metricsUrl: string;
};

/**
 * Starts `node --import tsx edge/src/main.ts` as a real process in its own process group (setsid),
 * so the pid is the server itself and a SIGKILL to the group leaves nothing behind. Resolves once
 * /healthz answers; a port taken in the meantime is retried on a fresh one.
 * `stop()` sends SIGTERM: the edge finishes queued writes and exits.
 */
export async function startEdgeProcess(options: EdgeProcessOptions): Promise<EdgeProcess> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const hubArgs = options.hub
    ? ['--hub', options.hub.url, '--client-id', options.hub.clientId, '--client-secret', options.hub.clientSecret]
    : [];
  const metricsPort = await freePort();
  const server = await startServerProcess({
    name: 'edge',
    script: edgeMain,
    args: ['--host', '127.0.0.1', '--data', options.dataDir, '--warehouse', options.warehouseId ?? 'W1', ...hubArgs],
    port: options.port,
    nodeArgs: options.nodeArgs,
    startTimeoutMs: options.startTimeoutMs,
    ...(options.ca ? { ca: options.ca } : {}),
    env: {
      EDGE_BOOTSTRAP_STAFF: `${bootstrapStaff.username}:${bootstrapStaff.password}`,
      LOG_LEVEL: options.logLevel ?? 'warn',
      EDGE_METRICS_PORT: String(metricsPort),
      // The chaos runs and benches drive one signed-in account at machine speed, thousands of scans a
      // second; a person at a scanner stays far inside the default budget these lift.
      EDGE_SESSION_REQUESTS_PER_SECOND: '100000',
      EDGE_SESSION_REQUESTS_BURST: '1000000',
      ...options.env,
    },
  });
  return { ...server, dataDir: options.dataDir, metricsUrl: `http://127.0.0.1:${metricsPort}` };
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
      {
        cwd: repoRoot,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, LOG_LEVEL: 'warn' },
      },
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
/**
 * CPU time (user + system, every thread) process `pid` has used so far, in ms, from /proc; undefined
 * once it is gone. stat(5): utime and stime are fields 14 and 15, the 12th and 13th after the
 * command's closing parenthesis, in clock ticks (USER_HZ, 100 on Linux).
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}
const clockTicksPerSecond = 100;

export function residentSetBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
