import fs from 'node:fs';
import http from 'node:http';
import { limits } from '@dovetail/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, startEdgeProcess } from '../support/edge-process.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * A real edge process (scrypt at OWASP's cost: 128 MiB per hash) under a flood of concurrent
 * sign-ins with unknown names from one address: the edge refuses most of them at once (429 with
 * Retry-After) instead of hashing a decoy for each, its memory stays within the hashing bound, and
 * a real sign-in from another address still succeeds.
 */
const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

const scryptBytes = 128 * 1024 * 1024;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for ${pid}`);
  return Number(match[1]) * 1024;
}

function login(baseUrl: string, from: string, username: string, password: string) {
  const url = new URL('/api/v1/login', baseUrl);
  return new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string }),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ username, password }));
  });
}

describe('sign-in floods at a real edge', () => {
  it('refuses concurrent unknown-name sign-ins early, bounds memory, and lets a real sign-in through', async () => {
    const dataDir = createTempDir('edge-login-flood');
    cleanup.add('remove the data dir', () => removeTempDir(dataDir));
    const edge = await startEdgeProcess({ dataDir });
    cleanup.add('kill the edge', () => edge.kill());
    const baseline = statusKb(edge.pid, 'VmRSS');

    const flood = Array.from({ length: 24 }, (_, index) =>
      login(edge.baseUrl, '127.0.0.2', `nobody-${index}`, 'not-a-password'),
    );
    const real = login(edge.baseUrl, '127.0.0.3', bootstrapStaff.username, bootstrapStaff.password);
    const answers = await Promise.all(flood);
    expect((await real).status).toBe(200);

    const refused = answers.filter((answer) => answer.status === 429);
    expect(answers.every((answer) => answer.status === 401 || answer.status === 429)).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(answers.length - limits.passwordHashesPerSourceMax);
    expect(refused.every((answer) => Number(answer.retryAfter) > 0)).toBe(true);
    // At most `passwordHashesConcurrentMax` scrypt buffers were ever held at once (plus slack for the rest).
    const peak = statusKb(edge.pid, 'VmHWM');
    expect(peak - baseline).toBeLessThan(limits.passwordHashesConcurrentMax * scryptBytes + 96 * 1024 * 1024);
    expect((await edge.stop()).code).toBe(0);
  });
});
