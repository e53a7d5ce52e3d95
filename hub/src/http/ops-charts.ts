import { escapeHtml } from '@dovetail/shared';

/**
 * Line charts for the operations console, drawn on the server as inline SVG: no script, no chart
 * library, nothing fetched. Presentation attributes only (no `style`), so the page's CSP allows them.
 * Each chart is an image with a name and a description, and a table of its figures follows it for
 * people who cannot see it.
 */

export type ChartSeries = { name: string; points: ReadonlyArray<{ at: number; value: number }> };

/** Distinguishable on white and for the common colour-vision deficiencies (Okabe–Ito). */
const palette = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#56b4e9', '#e69f00', '#000000'];

const width = 640;
const height = 220;
const margin = { left: 48, right: 12, top: 18, bottom: 28 };

/** How long before `toMs` a moment was, in words for the axis ("24 h ago", "now"). */
function before(toMs: number, atMs: number): string {
  const hours = Math.round((toMs - atMs) / 3_600_000);
  return hours <= 0 ? 'now' : `${hours} h ago`;
}

/** A round upper bound for the y axis (1, 2, 5 × 10ⁿ). */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

export function lineChart(options: {
  id: string;
  title: string;
  description: string;
  series: readonly ChartSeries[];
  fromMs: number;
  toMs: number;
  unit: string;
}): string {
  const { id, series, fromMs, toMs } = options;
  const values = series.flatMap((one) => one.points.map((point) => point.value));
  const top = niceCeiling(Math.max(1, ...values));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const x = (at: number) =>
    margin.left + ((Math.min(Math.max(at, fromMs), toMs) - fromMs) / (toMs - fromMs || 1)) * plotWidth;
  const y = (value: number) => margin.top + plotHeight - (Math.max(0, value) / top) * plotHeight;
  const grid = [0, top / 2, top]
    .map(
      (tick) =>
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#d6d1c8" stroke-width="1"/>` +
        `<text x="${margin.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" font-size="13" fill="#4a4640">${Number.isInteger(tick) ? tick : tick.toFixed(1)}</text>`,
    )
    .join('');
  const middle = fromMs + (toMs - fromMs) / 2;
  const axis =
    `<text x="${margin.left}" y="${height - 8}" font-size="13" fill="#4a4640">${before(toMs, fromMs)}</text>` +
    `<text x="${x(middle).toFixed(1)}" y="${height - 8}" text-anchor="middle" font-size="13" fill="#4a4640">${before(toMs, middle)}</text>` +
    `<text x="${width - margin.right}" y="${height - 8}" text-anchor="end" font-size="13" fill="#4a4640">now</text>` +
    `<text x="${margin.left + 4}" y="${margin.top - 6}" font-size="13" fill="#4a4640">${escapeHtml(options.unit)}</text>`;
  const lines = series
    .map((one, index) => {
      const colour = palette[index % palette.length] as string;
      if (one.points.length === 0) return '';
      const path = one.points
        .map((point, n) => `${n === 0 ? 'M' : 'L'}${x(point.at).toFixed(1)},${y(point.value).toFixed(1)}`)
        .join(' ');
      const last = one.points.at(-1) as { at: number; value: number };
      return `<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/><circle cx="${x(last.at).toFixed(1)}" cy="${y(last.value).toFixed(1)}" r="3" fill="${colour}"/>`;
    })
    .join('');
  const legend = series
    .map(
      (one, index) =>
        `<li><svg width="14" height="14" aria-hidden="true" focusable="false"><rect width="14" height="14" rx="2" fill="${palette[index % palette.length]}"/></svg> ${escapeHtml(one.name)}</li>`,
    )
    .join('');
  const empty = series.length === 0 ? '<p class="muted">Nothing to draw yet.</p>' : '';
  return `<figure class="chart"><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false"><title id="${id}-title">${escapeHtml(options.title)}</title><desc id="${id}-desc">${escapeHtml(options.description)}</desc>${grid}${axis}${lines}</svg><figcaption><ul class="legend">${legend}</ul>${empty}</figcaption></figure>`;
}
