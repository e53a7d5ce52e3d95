import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { writerAutocheckpointPages } from './checkpointer.ts';
import { migrate } from './migrations.ts';

export type EdgeDatabase = Database.Database;

/**
 * Opens the edge's SQLite file with the durability this node promises: nothing acknowledged to a
 * scanner is lost on SIGKILL or power loss.
 * - `journal_mode = WAL`: readers never block the writer; a commit is one append to the WAL.
 * - `synchronous = FULL`: the WAL is fsynced at every commit, so a committed transaction survives
 *   power loss (NORMAL would survive a process crash but may lose the last commits on power loss).
 *   Concurrent scans share one commit (group commit in services/stock-writer.ts), so the fsync cost
 *   is paid per batch, not per scan.
 * - `foreign_keys = ON`, a busy timeout for the `verify` command reading beside a running node.
 */
export const edgeDatabaseFile = 'edge.sqlite';

export function openEdgeDatabase(dataDir: string, fileName = edgeDatabaseFile): EdgeDatabase {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, fileName));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Checkpoints normally run on the checkpointer thread (db/checkpointer.ts); this is the backstop.
  db.pragma(`wal_autocheckpoint = ${writerAutocheckpointPages}`);
  migrate(db);
  return db;
}
