import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * WAL pages the writing connection lets pile up before it checkpoints by itself (SQLite's
 * `wal_autocheckpoint`, default 1,000): with a checkpointer thread running, only a backstop for one
 * that fell behind or died. About 200 MiB at 4 KiB pages.
 */
export const writerAutocheckpointPages = 50_000;
/** The backstop once the checkpointer failed: SQLite's own default, on the writing connection. */
const fallbackAutocheckpointPages = 1_000;
/** After a checkpoint resets the WAL, its file is cut back to this size (a drain can grow it far). */
const walFileBytesKept = 16 * 1024 * 1024;
/**
 * How often the worker checkpoints. Every 100 ms measured an edge p99 of 18-36 ms at a fixed 1,000
 * scans/s against 6-7 ms at 500 ms (the database file's fsyncs crowd the WAL's), with catch-up on the
 * hub as fast at 500 ms (55,227 events/s).
 */
const defaultIntervalMs = 500;

/**
 * Runs in the worker: its own connection to the database file, a PASSIVE checkpoint every interval.
 * PASSIVE never waits for or blocks the writer; what it could not copy (pages a newer transaction
 * wrote meanwhile) it copies next time. SQLITE_BUSY (another checkpoint under way: the writer's
 * backstop) is tried again next tick; any other error ends the worker and the writer takes over.
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
 * The writing connection's pragmas when a checkpointer runs beside it: checkpoints by itself only as
 * a backstop, and keeps the WAL file from staying as large as the biggest burst once reset.
 */
function configureWriter(database: BetterSqlite3.Database): void {
  database.pragma(`wal_autocheckpoint = ${writerAutocheckpointPages}`);
  database.pragma(`journal_size_limit = ${walFileBytesKept}`);
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. By default the connection that commits also
 * checkpoints, once the WAL passes 1,000 pages, inside a commit: with better-sqlite3 that is the
 * event loop, and copying megabytes into the database file and its fsync stall every request for
 * tens of milliseconds (an edge's scanners; a hub draining a catch-up, where it was about 40 % of
 * commit time). A worker thread with a connection of its own runs PASSIVE checkpoints instead, and
 * the writer (`configureWriter`) checkpoints only as a backstop. Durability is unchanged: a commit
 * is durable once its WAL frames are synced (`synchronous=FULL`), before and after this.
 */
export function startCheckpointer(
  writer: BetterSqlite3.Database,
  file: string,
  options: { intervalMs?: number; onError?: (error: Error) => void } = {},
): Checkpointer {
  configureWriter(writer);
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      file,
      intervalMs: options.intervalMs ?? defaultIntervalMs,
    },
  });
  // A checkpointer never keeps the process alive.
  worker.unref();
  let failed = false;
  worker.on('error', (error) => {
    failed = true;
    if (writer.open) writer.pragma(`wal_autocheckpoint = ${fallbackAutocheckpointPages}`);
    options.onError?.(error);
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      if (failed) return;
      // Held by the loop while it stops: an unref'd worker would let a process whose last job is
      // this close exit with the promise still pending.
      worker.ref();
      worker.postMessage('stop');
      const forced = setTimeout(() => void worker.terminate(), 2_000);
      forced.unref();
      await exited;
      clearTimeout(forced);
    },
  };
}
