import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Checkpointer, startCheckpointer, writerAutocheckpointPages } from './sqlite-checkpointer.ts';

let directory: string;
let databases: Database.Database[] = [];
const checkpointers: Checkpointer[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'dovetail-checkpointer-'));
});
afterEach(async () => {
  for (const checkpointer of checkpointers.splice(0)) await checkpointer.stop();
  for (const db of databases.splice(0)) db.close();
  rmSync(directory, { recursive: true, force: true });
});

const file = () => join(directory, 'node.db');
const fileBytes = (suffix = '') => statSync(`${file()}${suffix}`).size;

/** A writer as the edge and the hub open theirs, with a table to fill and the WAL emptied first. */
function openWriter(): Database.Database {
  const db = new Database(file());
  databases.push(db);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS filler (n INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return db;
}

const rowsPerWrite = 200;
const rowBytes = 3_000;

/** About 600 KiB of rows, each its own commit: well under SQLite's default 1,000-page checkpoint. */
function writeRows(db: Database.Database, from: number): void {
  const insert = db.prepare('INSERT INTO filler (n, body) VALUES (?, ?)');
  for (let n = from; n < from + rowsPerWrite; n++) insert.run(n, 'x'.repeat(rowBytes));
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WAL checkpoints on a worker thread', () => {
  it('copies committed pages into the database file while the writer only commits', async () => {
    const db = openWriter();
    checkpointers.push(startCheckpointer(db, file(), { intervalMs: 20 }));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(writerAutocheckpointPages);
    const before = fileBytes();
    writeRows(db, 0);
    // Neither the writer's backstop nor SQLite's default would checkpoint this little: the database
    // file grows only because the worker copied the WAL back.
    await waitFor(() => fileBytes() >= before + rowsPerWrite * rowBytes, 'the database file to take the rows');
  });

  it('without it, the same rows stay in the WAL (the control for the test above)', async () => {
    const db = openWriter();
    const before = fileBytes();
    writeRows(db, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fileBytes()).toBe(before);
    expect(fileBytes('-wal')).toBeGreaterThan(rowsPerWrite * rowBytes);
  });

  it('stops cleanly, and every committed row is there when the file is opened again', async () => {
    const db = openWriter();
    const checkpointer = startCheckpointer(db, file(), { intervalMs: 20 });
    writeRows(db, 0);
    writeRows(db, rowsPerWrite);
    await checkpointer.stop();
    db.close();
    databases = [];
    const again = new Database(file());
    databases.push(again);
    expect(again.prepare('SELECT count(*) AS count FROM filler').get()).toEqual({ count: 2 * rowsPerWrite });
    expect(again.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('hands checkpoints back to the writer when the worker fails, and says so', async () => {
    const db = openWriter();
    const errors: Error[] = [];
    // A file the worker cannot open as a database: its first checkpoint throws.
    const checkpointer = startCheckpointer(db, directory, { onError: (error) => errors.push(error) });
    await waitFor(() => errors.length > 0, 'the worker to fail');
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000);
    await checkpointer.stop();
  });
});
