import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Moves WAL checkpoints off the scan path. SQLite checkpoints on the committing connection once the
 * WAL passes `wal_autocheckpoint` pages: with better-sqlite3 that is the event loop, and copying
 * megabytes into the database file stalls every scanner for tens of milliseconds. A worker thread
 * with its own connection runs PASSIVE checkpoints instead (they never block the writer), so the
 * writer's own autocheckpoint only fires as a backstop if the worker falls behind or dies.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); db.close(); parentPort.close(); }
});
`;

export const writerAutocheckpointPages = 50_000;

export type Checkpointer = { stop(): Promise<void> };

export function startCheckpointer(file: string, intervalMs = 500): Checkpointer {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { file, intervalMs, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        // Held by the loop while it stops: an unref'd worker would let a process whose last job is
        // this close exit with the promise still pending.
        worker.ref();
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
        setTimeout(() => void worker.terminate(), 2_000).unref();
      }),
  };
}
