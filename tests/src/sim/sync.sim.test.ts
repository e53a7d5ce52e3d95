import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchSummary, type SeedRange, emptySummary, mergeSummary } from './runner.ts';
import { formatFailure, runSchedule } from './schedule.ts';
import { createTemplates, removeTemplates, worldDir } from './templates.ts';

/**
 * The deterministic simulation (CONTRIBUTING.md, "Tests"): the real EdgeSyncSession,
 * HubSyncSession, StockWriter, FulfillmentDesk, applyPush, catalog, hold, order and quota services
 * over a simulated network with drops, duplicates, reorders, cuts, swallows and crashes (see schedule.ts and
 * commerce.ts), thousands of seeded schedules per run.
 *
 * - `SIM_SEED=<n>` replays one schedule in this process and prints its whole trace.
 * - `SIM_SCHEDULES=<n>` sets how many schedules run (seeds 1..n; each schedule is two storm-and-heal
 *   acts with commerce racing the faults). The default is sized for the suite people run on every
 *   change, 300 schedules (about a minute on two cores); `npm run test:deep` (DOVETAIL_DEEP=1) runs
 *   3,000, for changes to sync, the simulation or the commerce rules. Every schedule checks the same
 *   invariants either way; only how many seeds are explored changes.
 * - `SIM_SEED_FROM=<n>` starts the range elsewhere, to explore new seeds by hand.
 * - Every broken invariant fails its schedule.
 */
const replaySeed = process.env['SIM_SEED'] ? Number(process.env['SIM_SEED']) : undefined;
const deep = Boolean(process.env['DOVETAIL_DEEP']);
const schedules = Number(process.env['SIM_SCHEDULES'] || (deep ? 3_000 : 300));
const seedFrom = Number(process.env['SIM_SEED_FROM'] || 1);
const blockSize = 1_000;
/** Seeds handed to a child at a time: small enough to balance two children, big enough to amortize IPC. */
const chunkSize = 25;
const blockTimeoutMs = 600_000;

if (replaySeed !== undefined) {
  describe(`simulation replay of seed ${replaySeed}`, () => {
    it(
      'holds every invariant',
      async () => {
        const templates = await createTemplates();
        try {
          const result = await runSchedule(templates, replaySeed, { dir: worldDir(templates) });
          console.log(result.trace.join('\n'));
          expect(result.ok, formatFailure(result, 1_000)).toBe(true);
        } finally {
          removeTemplates(templates);
        }
      },
      blockTimeoutMs,
    );
  });
} else {
  describe('edge ↔ hub sync simulation', () => {
    const children: ChildProcess[] = [];
    const total = emptySummary();
    const startedMs = performance.now();

    beforeAll(async () => {
      const count = Math.max(1, Math.min(Number(process.env['SIM_WORKERS'] || os.availableParallelism()), 4));
      const entry = fileURLToPath(new URL('./child.ts', import.meta.url));
      for (let i = 0; i < count; i++) {
        const child = fork(entry, [], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        await new Promise<void>((resolve, reject) => {
          child.once('message', () => resolve());
          child.once('exit', (code) => reject(new Error(`simulation child exited with ${code} before it was ready`)));
        });
      }
    }, 60_000);

    afterAll(() => {
      for (const child of children) child.disconnect();
      const seconds = Math.round((performance.now() - startedMs) / 1000);
      const last = seedFrom + total.schedules - 1;
      console.log(
        [
          `sim: ${total.schedules.toLocaleString('en')} schedules, seeds ${seedFrom}..${last}, ${total.failures.length} failures in ${seconds} s`,
          `  ${JSON.stringify({ ...total.counters, stallWaits: total.stallWaits, healStepsMax: total.healStepsMax })}`,
        ].join('\n'),
      );
    });

    /** Hands `range` to the children `chunkSize` seeds at a time, whichever is free next. */
    async function runRange(from: number, to: number): Promise<BatchSummary> {
      const summary = emptySummary();
      let next = from;
      const work = async (child: ChildProcess) => {
        while (next <= to) {
          const range: SeedRange = { from: next, to: Math.min(to, next + chunkSize - 1) };
          next = range.to + 1;
          const answer = await new Promise<{ ok: boolean; summary?: BatchSummary; error?: string }>(
            (resolve, reject) => {
              const onExit = (code: number | null) =>
                reject(
                  new Error(`simulation child exited with ${code} while running seeds ${range.from}..${range.to}`),
                );
              child.once('exit', onExit);
              child.once('message', (message) => {
                child.off('exit', onExit);
                resolve(message as { ok: boolean; summary?: BatchSummary; error?: string });
              });
              child.send(range);
            },
          );
          if (!answer.ok || !answer.summary)
            throw new Error(`seeds ${range.from}..${range.to} crashed the simulation: ${answer.error}`);
          mergeSummary(summary, answer.summary);
        }
      };
      await Promise.all(children.map(work));
      return summary;
    }

    for (let block = 0; block * blockSize < schedules; block++) {
      const from = seedFrom + block * blockSize;
      const to = seedFrom + Math.min(schedules, (block + 1) * blockSize) - 1;
      it(
        `seeds ${from}..${to} heal and hold every invariant`,
        async () => {
          const summary = await runRange(from, to);
          mergeSummary(total, summary);
          const failures = summary.failures.sort((a, b) => a.seed - b.seed);
          expect(summary.schedules).toBe(to - from + 1);
          expect(
            failures.map((failure) => failure.seed),
            failures
              .slice(0, 3)
              .map((failure) => failure.report)
              .join('\n\n'),
          ).toEqual([]);
        },
        blockTimeoutMs,
      );
    }
  });
}
