import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type Database, openStorage } from '@dovetail/hub/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { requestJson } from '../support/http.ts';
import { enrollHubEdge, hubAdminToken, startHubProcess } from '../support/hub-process.ts';
import { hubMain, repoRoot } from '../support/paths.ts';
import { hubStorageAdapters, testPostgresUrl } from '../support/postgres.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * `npm run hub -- audit verify --data DIR` (and with DATABASE_URL for PostgreSQL) as a real process
 * against what a real hub process wrote: exit 0 on the untouched chain, non-zero naming the seq of
 * the first broken link once a row is altered, and again once a row is removed.
 */
const adapters = hubStorageAdapters('auditcli');
const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

function verify(dataDir: string, env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', hubMain, 'audit', 'verify', '--data', dataDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: '', DATABASE_SCHEMA: '', ...env },
  });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

describe.each(adapters)('audit verify CLI on $name', (adapter) => {
  it('exits 0 on an intact chain and non-zero naming the seq of an altered or removed row', async () => {
    await adapter.prepare(cleanup);
    const dataDir = createTempDir('hub-audit');
    cleanup.add('remove the data dir', () => removeTempDir(dataDir));
    const hub = await startHubProcess({ dataDir, env: adapter.env() });
    cleanup.add('kill the hub', () => hub.kill());
    const token = await hubAdminToken(hub.baseUrl);
    const refused = await requestJson(hub.baseUrl, 'POST', '/oauth/token', {
      body: 'grant_type=client_credentials&client_id=admin&client_secret=wrong-secret-000',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(refused.status).toBe(401);
    await enrollHubEdge(hub.baseUrl, token, 'AMS');
    expect((await hub.stop()).code).toBe(0);

    const intact = verify(dataDir, adapter.env());
    expect(intact.output).toContain('audit chain intact: 3 entries');
    expect(intact.code).toBe(0);

    const env = adapter.env();
    const storage = await openStorage<Database>(
      adapter.name === 'sqlite'
        ? { kind: 'sqlite', file: path.join(dataDir, 'hub.db') }
        : { kind: 'postgres', url: testPostgresUrl, schema: env['DATABASE_SCHEMA'] as string },
    );
    try {
      await storage.db.updateTable('audit_log').set({ target: 'ROT' }).where('seq', '=', 2).execute();
      const altered = verify(dataDir, env);
      expect(altered.output).toContain('BROKEN at seq 2');
      expect(altered.code).toBe(1);

      await storage.db.updateTable('audit_log').set({ target: 'AMS' }).where('seq', '=', 2).execute();
      expect(verify(dataDir, env).code).toBe(0);
      await storage.db.deleteFrom('audit_log').where('seq', '=', 2).execute();
      const removed = verify(dataDir, env);
      expect(removed.output).toContain('BROKEN at seq 2');
      expect(removed.code).toBe(1);
    } finally {
      await storage.close();
    }
    const missing = verify(path.join(dataDir, 'nothing-here'), {});
    expect(missing.code).toBe(2);
  });
});
