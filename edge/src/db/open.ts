import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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
  // Only the edge's user reads its data: the directory is created 0700, the database files are 0600
  // whatever the umask (SQLite creates the WAL and -shm files with the main file's mode).
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, fileName);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  for (const each of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(each)) fs.chmodSync(each, 0o600);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A running node checkpoints on a thread of its own (node.ts, @dovetail/platform), which sets the
  // writer's backstop; opened without one (verify, tests) SQLite's own checkpoints stay on.
  migrate(db);
  return db;
}
