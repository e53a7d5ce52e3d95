import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { edgeOpenApiDocument } from './openapi.ts';

const run = promisify(execFile);
const redocly = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
  'bin/cli.js',
);

describe("the edge's OpenAPI document", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dovetail-openapi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lints with 0 errors under Redocly’s recommended rules', async () => {
    const file = path.join(dir, 'edge.json');
    writeFileSync(file, JSON.stringify(edgeOpenApiDocument()));
    // Exits non-zero on any error; warnings (no licence, …) pass.
    const result = await run(process.execPath, [redocly, 'lint', file, '--format=stylish'], {
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 60_000,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    expect('code' in result ? result.code : 0, output).toBe(0);
    expect(output).toMatch(/valid/i);
  }, 90_000);
});
