import { describe, expect, it } from 'vitest';
import { postgresTarget, resolvePostgresTarget, startTestHub } from './harness.ts';

describe('where the PostgreSQL suites run', () => {
  it('fails, never skips, when PostgreSQL is required and does not answer', async () => {
    await expect(
      resolvePostgresTarget({
        DOVETAIL_TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
        DOVETAIL_REQUIRE_POSTGRES: '1',
      }),
    ).rejects.toThrow(/does not answer/);
    await expect(resolvePostgresTarget({ DOVETAIL_REQUIRE_POSTGRES: '1' })).rejects.toThrow(
      /DOVETAIL_TEST_DATABASE_URL/,
    );
  });

  it('falls back to PGlite when no server is configured or it does not answer and none is required', async () => {
    expect(await resolvePostgresTarget({})).toEqual({ kind: 'pglite' });
    expect(await resolvePostgresTarget({ DOVETAIL_TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' })).toEqual(
      { kind: 'pglite' },
    );
  });

  it('gives each hub its own schema, so two hubs never see each other', async () => {
    const target = await postgresTarget();
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
      if (target.kind === 'server') expect(first.description).not.toBe(second.description);
    } finally {
      await first.dispose();
      await second.dispose();
    }
  });
});
