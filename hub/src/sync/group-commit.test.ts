import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, startTestHub } from '../testing/harness.ts';
import { GroupCommitter } from './group-commit.ts';

/**
 * The SQLite group commit the sync server runs pushes through: jobs queued together share one
 * transaction, a failing job takes back only its own writes, and each caller gets its own outcome.
 */
let hub: TestHub;
beforeEach(async () => {
  hub = await startTestHub('sqlite');
});
afterEach(() => hub.dispose());

const channelsNamed = async (prefix: string) =>
  (
    await hub.storage.db
      .selectFrom('downstream_channels')
      .select('channel')
      .where('channel', 'like', `${prefix}%`)
      .execute()
  )
    .map((row) => row.channel)
    .sort();

describe('GroupCommitter', () => {
  it('commits jobs queued together in one transaction, rolling back only the one that failed', async () => {
    const committer = new GroupCommitter(hub.storage.db);
    const insert = (channel: string) =>
      committer.run(async (trx) => {
        await trx.insertInto('downstream_channels').values({ channel, last_seq: 0 }).execute();
        return channel;
      });
    const failing = committer.run(async (trx) => {
      await trx.insertInto('downstream_channels').values({ channel: 'gc-b', last_seq: 0 }).execute();
      throw new Error('job b refused');
    });
    const outcomes = await Promise.allSettled([insert('gc-a'), failing, insert('gc-c')]);

    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'gc-a' },
      { status: 'rejected', reason: new Error('job b refused') },
      { status: 'fulfilled', value: 'gc-c' },
    ]);
    expect(await channelsNamed('gc-')).toEqual(['gc-a', 'gc-c']);
    expect(committer.stats).toEqual({ transactions: 1, jobs: 3 });
  });

  it('runs a lone job as a plain transaction, rolled back whole when it fails', async () => {
    const committer = new GroupCommitter(hub.storage.db);
    await expect(
      committer.run(async (trx) => {
        await trx.insertInto('downstream_channels').values({ channel: 'lone-a', last_seq: 0 }).execute();
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await expect(
      committer.run(async (trx) => {
        await trx.insertInto('downstream_channels').values({ channel: 'lone-b', last_seq: 0 }).execute();
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(await channelsNamed('lone-')).toEqual(['lone-b']);
    expect(committer.stats).toEqual({ transactions: 2, jobs: 2 });
  });

  it('takes jobs that arrive while a commit runs into the next transaction', async () => {
    const committer = new GroupCommitter(hub.storage.db);
    let later: Promise<unknown>[] = [];
    const first = committer.run(async (trx) => {
      // Queued while this transaction is open: they must wait for the next one, together.
      later = ['late-1', 'late-2'].map((channel) =>
        committer.run((inner) => inner.insertInto('downstream_channels').values({ channel, last_seq: 0 }).execute()),
      );
      await trx.insertInto('downstream_channels').values({ channel: 'late-0', last_seq: 0 }).execute();
    });
    await first;
    await Promise.all(later);
    expect(await channelsNamed('late-')).toEqual(['late-0', 'late-1', 'late-2']);
    expect(committer.stats).toEqual({ transactions: 2, jobs: 3 });
  });
});
