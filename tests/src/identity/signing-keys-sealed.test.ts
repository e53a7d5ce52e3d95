import fs from 'node:fs';
import path from 'node:path';
import { type Database, openStorage } from '@dovetail/hub/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { hubAdminToken, startHubProcess } from '../support/hub-process.ts';
import { hubStorageAdapters, testPostgresUrl } from '../support/postgres.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * A hub process started with no key-encryption key configured seals its private signing keys
 * anyway: it generates `hub.kek` (0600) in its data directory on first start, the keys in the
 * database (SQLite file or PostgreSQL table) are AES-GCM sealed, the SQLite files are 0600, and a
 * restart reads the same key file and signs again.
 */
const adapters = hubStorageAdapters('kek');
const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe.each(adapters)('signing keys at rest, hub process on $name', (adapter) => {
  it('seals the keys by default with a generated 0600 key file, and restarts with it', async () => {
    await adapter.prepare(cleanup);
    const dataDir = createTempDir('hub-kek');
    cleanup.add('remove the data dir', () => removeTempDir(dataDir));
    let hub = await startHubProcess({ dataDir, env: adapter.env() });
    cleanup.add('kill the hub', () => hub.kill());
    const token = await hubAdminToken(hub.baseUrl);
    expect((await hub.stop()).code).toBe(0);

    const keyFile = path.join(dataDir, 'hub.kek');
    expect(modeOf(keyFile)).toBe(0o600);
    const env = adapter.env();
    const storage = await openStorage<Database>(
      adapter.name === 'sqlite'
        ? { kind: 'sqlite', file: path.join(dataDir, 'hub.db') }
        : { kind: 'postgres', url: testPostgresUrl, schema: env['DATABASE_SCHEMA'] as string },
    );
    try {
      const rows = await storage.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.private_jwk.startsWith('enc:v1:')).toBe(true);
        expect(row.private_jwk).not.toContain('"d"');
      }
    } finally {
      await storage.close();
    }
    if (adapter.name === 'sqlite') {
      const files = fs.readdirSync(dataDir).filter((name) => name.startsWith('hub.db'));
      for (const name of files) {
        expect(modeOf(path.join(dataDir, name)), name).toBe(0o600);
        expect(fs.readFileSync(path.join(dataDir, name)).includes('"d":"'), name).toBe(false);
      }
    }

    hub = await startHubProcess({ dataDir, port: hub.port, env: adapter.env() });
    const again = await fetch(`${hub.baseUrl}/api/v1/warehouses`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    expect(await hubAdminToken(hub.baseUrl)).toMatch(/^ey/);
    expect((await hub.stop()).code).toBe(0);
  });
});
