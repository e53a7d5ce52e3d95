/**
 * What every bench returns: named figures, each optionally beside its target. Benches print figures;
 * they never assert timings (a loaded CI box must not fail a build), so `meets` is information only.
 */
export type BenchFigure = {
  metric: string;
  value: string;
  target?: string;
  /** Whether the figure meets its target; undefined when there is none. */
  meets?: boolean;
  /**
   * Where the time goes, printed under the summary when the target is missed: figures of this run
   * where the bench has them (CPU per operation, the ceiling it implies), and the profile in the
   * docs that shows the rest and what would move it.
   */
  whereTimeGoes?: string;
};

export type BenchResult = { name: string; figures: BenchFigure[]; notes: string[] };

export type Bench = { name: string; run(): Promise<BenchResult> };

/** Seconds per timed phase; BENCH_SECONDS shortens it for a quick look (default 10). */
export function benchSeconds(): number {
  const raw = process.env.BENCH_SECONDS;
  const seconds = raw === undefined ? 10 : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300)
    throw new Error(`BENCH_SECONDS=${raw}: 1..300 seconds`);
  return seconds;
}

export function formatTable(result: BenchResult): string {
  const header = { metric: 'metric', value: 'measured', target: 'target', meets: '' };
  const rows = result.figures.map((figure) => ({
    metric: figure.metric,
    value: figure.value,
    target: figure.target ?? '',
    meets: figure.meets === undefined ? '' : figure.meets ? 'met' : 'MISSED',
  }));
  const width = (key: 'metric' | 'value' | 'target') =>
    Math.max(header[key].length, ...rows.map((row) => row[key].length));
  const widths = { metric: width('metric'), value: width('value'), target: width('target') };
  const line = (row: typeof header) =>
    `  ${row.metric.padEnd(widths.metric)}  ${row.value.padStart(widths.value)}  ${row.target.padEnd(widths.target)}  ${row.meets}`.trimEnd();
  const rule = `  ${'-'.repeat(widths.metric + widths.value + widths.target + 12)}`;
  return [
    `== ${result.name}`,
    line(header),
    rule,
    ...rows.map(line),
    ...result.notes.map((note) => `  * ${note}`),
  ].join('\n');
}

export const formatNumber = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const formatMiB = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${formatNumber(bytes / 1024 / 1024, 1)} MiB`;
