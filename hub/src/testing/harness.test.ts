import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { postgresTarget, resolvePostgresTarget, startTestHub } from './harness.ts';

describe('where the PostgreSQL suites run', () => {
  it('fails, never skips or falls back, when the server is missing or does not answer', async () => {
    for (const env of [{ DOVETAIL_REQUIRE_POSTGRES: '1' }, {}]) {
      await expect(
        resolvePostgresTarget({ ...env, DOVETAIL_TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' }),
      ).rejects.toThrow(/does not answer/);
      await expect(resolvePostgresTarget(env)).rejects.toThrow(/DOVETAIL_TEST_DATABASE_URL/);
    }
  });

  it('runs on the real server the test run provides', async () => {
    const target = await postgresTarget();
    expect(target.kind).toBe('server');
    const hub = await startTestHub('postgres');
    try {
      expect(hub.storage.dialect).toBe('postgres');
      expect(hub.description).not.toContain('pglite');
      const version = await sql<{ server_version_num: string }>`show server_version_num`.execute(hub.storage.db);
      expect(Number(version.rows[0]!.server_version_num)).toBeGreaterThanOrEqual(150_000);
    } finally {
      await hub.dispose();
    }
  });

  it('gives each hub its own schema, so two hubs never see each other', async () => {
    const first = await startTestHub('postgres');
    const second = await startTestHub('postgres');
    try {
      await first.storage.db.insertInto('downstream_channels').values({ channel: 'isolation', last_seq: 7 }).execute();
      const seen = await second.storage.db
        .selectFrom('downstream_channels')
        .selectAll()
        .where('channel', '=', 'isolation')
        .execute();
      expect(seen).toEqual([]);
      expect(first.description).not.toBe(second.description);
    } finally {
      await first.dispose();
      await second.dispose();
    }
  });
});
