import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from './connect.ts';

let directory: string;
const opened: Storage[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'dovetail-checkpointer-'));
});
afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  rmSync(directory, { recursive: true, force: true });
});

async function open(checkpointInBackground: boolean): Promise<Storage> {
  const storage = await openStorage({ kind: 'sqlite', file: join(directory, 'hub.db'), checkpointInBackground });
  opened.push(storage);
  return storage;
}

/** A table to fill, with the WAL emptied first: returns the database file's size then. */
async function freshTable(storage: Storage): Promise<number> {
  await sql`CREATE TABLE filler (n INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(storage.db);
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(storage.db);
  return fileBytes('hub.db');
}

const rowsPerWrite = 200;
const rowBytes = 3_000;

/** About 600 KiB of rows, each in its own commit: well under SQLite's default 1,000-page checkpoint. */
async function writeRows(storage: Storage, from: number): Promise<void> {
  const filler = 'x'.repeat(rowBytes);
  for (let n = from; n < from + rowsPerWrite; n++)
    await sql`INSERT INTO filler (n, body) VALUES (${n}, ${filler})`.execute(storage.db);
}

const fileBytes = (name: string) => statSync(join(directory, name)).size;

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WAL checkpoints on a worker thread', () => {
  it('copies committed pages into the database file while the hub connection only commits', async () => {
    const storage = await open(true);
    const before = await freshTable(storage);
    await writeRows(storage, 0);
    // The hub's own connection checkpoints only past 16,384 pages now, and the default would not
    // have either: the database file grows only if the worker copied the WAL back.
    await waitFor(() => fileBytes('hub.db') >= before + rowsPerWrite * rowBytes, 'the database file to take the rows');
    const wal = sql<{ busy: number; log: number; checkpointed: number }>`PRAGMA wal_checkpoint(PASSIVE)`;
    expect((await wal.execute(storage.db)).rows[0]).toMatchObject({ busy: 0 });
  });

  it('leaves the default in charge without it: the same rows stay in the WAL', async () => {
    const storage = await open(false);
    const before = await freshTable(storage);
    await writeRows(storage, 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fileBytes('hub.db')).toBe(before);
    expect(fileBytes('hub.db-wal')).toBeGreaterThan(rowsPerWrite * rowBytes);
  });

  it('stops with the storage, and every committed row is there when the file is opened again', async () => {
    const first = await open(true);
    await freshTable(first);
    await writeRows(first, 0);
    await writeRows(first, rowsPerWrite);
    opened.splice(opened.indexOf(first), 1);
    await first.close();
    const again = await open(true);
    const { rows } = await sql<{ count: number }>`SELECT count(*) AS count FROM filler`.execute(again.db);
    expect(rows[0]?.count).toBe(2 * rowsPerWrite);
    const check = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(again.db);
    expect(check.rows).toEqual([{ integrity_check: 'ok' }]);
  });
});
