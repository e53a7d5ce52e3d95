import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How often the background connection copies the WAL back into the database file. */
const checkpointIntervalMs = 50;
/**
 * Pages the WAL may hold before the hub's own connection checkpoints after all (SQLite's
 * `wal_autocheckpoint`, default 1,000): a safety net for a checkpointer that stopped or fell behind,
 * 64 MiB at 4 KiB pages.
 */
const walPagesMax = 16_384;
/** After a checkpoint resets the WAL, its file is cut back to this size. */
const walFileBytesKept = 16 * 1024 * 1024;

/**
 * Runs in the worker: its own connection to the database file, a PASSIVE checkpoint every interval.
 * PASSIVE never waits for or blocks the writer; what it could not copy (pages a newer transaction
 * wrote meanwhile) is copied next time. Plain CommonJS: a worker started from source text.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('synchronous = FULL');
let timer;
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    // SQLITE_BUSY: another checkpoint is under way (the hub's own safety net); try again next tick.
    if (error.code !== 'SQLITE_BUSY') throw error;
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
tick();
`;

export type Checkpointer = { stop(): Promise<void> };

/**
 * Moves SQLite's WAL checkpoints off the hub's event loop. By default the connection that commits
 * also checkpoints, every 1,000 pages, inside a commit: copying the WAL's pages into the database
 * file and its fsync then block every request. In a catch-up drain that was about 40 % of the commit
 * time (docs/architecture.md, "Where the hub's time goes"). Here a worker thread with a connection of
 * its own checkpoints every 50 ms while the event loop goes on; the hub's connection keeps a far
 * larger `wal_autocheckpoint` as a safety net. Durability is unchanged: a commit is durable once its
 * WAL frames are synced (`synchronous=FULL`), before and after this.
 */
export function startCheckpointer(database: BetterSqlite3.Database, file: string): Checkpointer {
  database.pragma(`wal_autocheckpoint = ${walPagesMax}`);
  database.pragma(`journal_size_limit = ${walFileBytesKept}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { driver, file, intervalMs: checkpointIntervalMs },
  });
  // A checkpointer never keeps the process alive, and a failed one leaves the safety net in charge.
  worker.unref();
  let failed = false;
  worker.on('error', () => {
    failed = true;
    database.pragma('wal_autocheckpoint = 1000');
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      if (!failed) worker.postMessage('stop');
      await exited;
    },
  };
}
