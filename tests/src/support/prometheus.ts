import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** One metric family of a text exposition: `# HELP`, `# TYPE` and the names of its samples. */
export type MetricFamily = { name: string; type: string; help: string | undefined; samples: Set<string> };

/** The metric families of a Prometheus text exposition (format 0.0.4), by name. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let found = families.get(name);
    if (!found) {
      found = { name, type: 'untyped', help: undefined, samples: new Set() };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === 'HELP') family(name).help = rest;
      else family(name).type = rest;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([^\s{]+)/.exec(line)?.[1];
    if (!sample) continue;
    const owner =
      [...families.keys()].find(
        (name) =>
          sample === name ||
          (/^_(bucket|sum|count|total|created)$/.test(sample.slice(name.length)) && sample.startsWith(name)),
      ) ?? sample;
    family(owner).samples.add(sample);
  }
  return families;
}

/**
 * The naming rules `promtool check metrics` applies (Prometheus's promlint), in JavaScript, so a
 * machine without promtool still checks them: help text, snake_case, counters end in `_total` and
 * nothing else does, `_count`/`_sum`/`_bucket` only on histograms and summaries, base units, no
 * abbreviated units, no type in the name, no colons. One problem per line; empty when clean.
 */
export function lintExposition(text: string): string[] {
  const problems: string[] = [];
  // promlint's lists: unit abbreviations as whole name parts, and SI prefixes on base units.
  const abbreviations = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
  const baseUnits = ['amperes', 'bytes', 'grams', 'joules', 'meters', 'metres', 'seconds', 'volts'];
  const prefixes = [
    'pico',
    'nano',
    'micro',
    'milli',
    'centi',
    'deci',
    'deca',
    'hecto',
    'kilo',
    'kili',
    'mega',
    'giga',
    'tera',
    'peta',
  ];
  for (const family of parseExposition(text).values()) {
    const { name, type } = family;
    const say = (problem: string) => problems.push(`${name}: ${problem}`);
    if (!family.help) say('no help text');
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) say('metric names should be snake_case without colons');
    if (/[A-Z]/.test(name)) say("metric names should be written in 'snake_case' not 'camelCase'");
    if (type === 'counter' && !name.endsWith('_total')) say('counter metrics should have "_total" suffix');
    if (type !== 'counter' && name.endsWith('_total')) say('non-counter metrics should not have "_total" suffix');
    if (type !== 'histogram' && type !== 'summary' && /_(count|sum|bucket)$/.test(name))
      say('non-histogram and non-summary metrics should not have "_count", "_sum" or "_bucket" suffix');
    for (const prefix of prefixes)
      for (const unit of baseUnits)
        if (name.includes(`${prefix}${unit}`)) say(`use base unit "${unit}" instead of "${prefix}${unit}"`);
    for (const short of abbreviations)
      if (name.endsWith(`_${short}`) || name.includes(`_${short}_`))
        say(`metric names should not contain abbreviated units (${short})`);
    for (const kind of ['counter', 'gauge', 'histogram', 'summary'])
      if (name.split('_').includes(kind)) say(`metric name should not include type '${kind}'`);
  }
  return problems;
}

/** promtool on the PATH (Debian's `prometheus` package), or undefined. */
export function findPromtool(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'promtool');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export type PromtoolRun = { status: number | null; output: string };

/** `promtool check metrics` with the exposition on stdin. */
export function promtoolCheckMetrics(promtool: string, text: string): PromtoolRun {
  const run = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** `promtool check rules FILE`. */
export function promtoolCheckRules(promtool: string, file: string): PromtoolRun {
  const run = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
