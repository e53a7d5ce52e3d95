import { type ScheduleResult, formatFailure, runSchedule } from './schedule.ts';
import { type Templates, worldDir } from './templates.ts';

export type SeedRange = { from: number; to: number };

/** What a batch of schedules found; failures carry their formatted seed, problems and trace. */
export type BatchSummary = {
  schedules: number;
  failures: Array<{ seed: number; report: string }>;
  counters: Record<string, number>;
  stallWaits: number;
  healStepsMax: number;
};

export function emptySummary(): BatchSummary {
  return { schedules: 0, failures: [], counters: {}, stallWaits: 0, healStepsMax: 0 };
}

export function mergeSummary(into: BatchSummary, from: BatchSummary): void {
  into.schedules += from.schedules;
  into.failures.push(...from.failures);
  for (const [key, value] of Object.entries(from.counters)) into.counters[key] = (into.counters[key] ?? 0) + value;
  into.stallWaits += from.stallWaits;
  into.healStepsMax = Math.max(into.healStepsMax, from.healStepsMax);
}

export function summarize(result: ScheduleResult): BatchSummary {
  return {
    schedules: 1,
    failures: result.ok ? [] : [{ seed: result.seed, report: formatFailure(result) }],
    counters: { ...result.counters },
    stallWaits: result.stallWaits,
    healStepsMax: result.healSteps,
  };
}

/** Runs seeds `from..to` one after another in one reused world directory. */
export async function runSeeds(templates: Templates, range: SeedRange, slot = 0): Promise<BatchSummary> {
  const summary = emptySummary();
  for (let seed = range.from; seed <= range.to; seed++) {
    mergeSummary(summary, summarize(await runSchedule(templates, seed, { dir: worldDir(templates, slot) })));
  }
  return summary;
}
