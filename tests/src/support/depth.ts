/**
 * How long the chaos and simulation runs are: sized for the suite people run on every change by
 * default, long under `npm run test:deep` (DOVETAIL_DEEP=1). Only counts change with depth (more
 * scans, more faults, more seeds); what each test checks is the same either way.
 */
export const deep = Boolean(process.env['DOVETAIL_DEEP']);

/** `everyChange` normally, `deepRun` under DOVETAIL_DEEP=1. */
export function byDepth(everyChange: number, deepRun: number): number {
  return deep ? deepRun : everyChange;
}
