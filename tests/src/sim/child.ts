/**
 * A simulation worker process (`node --import tsx child.ts`, forked by sync.sim.test.ts): the test
 * spreads seed ranges over one child per core. Each child migrates its own template databases once,
 * answers `{from, to}` with a `BatchSummary`, and removes its files when the test lets go.
 * A seed's schedule does not depend on which process runs it: `SIM_SEED=<n>` replays it in-process.
 */
import { type SeedRange, runSeeds } from './runner.ts';
import { createTemplates, removeTemplates } from './templates.ts';

const templates = await createTemplates();
let queue: Promise<void> = Promise.resolve();

process.on('message', (range: SeedRange) => {
  queue = queue.then(async () => {
    try {
      process.send?.({ ok: true, summary: await runSeeds(templates, range) });
    } catch (error) {
      process.send?.({ ok: false, error: (error as Error).stack ?? String(error) });
    }
  });
});
process.on('disconnect', () => {
  void queue.finally(() => {
    removeTemplates(templates);
    process.exit(0);
  });
});
process.send?.({ ready: true });
