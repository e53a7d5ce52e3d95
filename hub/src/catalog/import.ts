import { badRequest, DomainError, type FieldIssue, fieldIssues, productUpdateSchema } from '@dovetail/shared';
import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { type ImportedProduct, importProducts } from './service.ts';
import { type CatalogRow, catalogColumns } from './transfer.ts';

/** Rows one import takes (a larger catalog is split into files). */
export const importRowsMax = 50_000;

export type ImportError = { line: number; sku?: string; field: string; message: string };
export type ImportReport = {
  rows: number;
  products: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Lines whose product was not written (mode `valid`), or would not be (mode `all`). */
  rejected: number;
  errors: ImportError[];
};

/** `all`: any error and nothing is written. `valid`: products whose rows are all valid are written. */
export type ImportMode = 'all' | 'valid';

type Group = { key: string; lines: number[]; rows: CatalogRow[] };

const errorsReportedMax = 1_000;

function json(cell: string, field: string): unknown {
  if (cell === '') return undefined;
  try {
    return JSON.parse(cell);
  } catch {
    throw new CellError(field, 'not valid JSON');
  }
}

function integer(cell: string, field: string): number | undefined {
  if (cell === '') return undefined;
  if (!/^-?\d{1,15}$/.test(cell)) throw new CellError(field, 'not a whole number');
  return Number(cell);
}

function decimal(cell: string, field: string): number {
  const value = Number(cell);
  if (cell === '' || !Number.isFinite(value)) throw new CellError(field, 'not a number');
  return value;
}

class CellError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** One product from its rows: the product's columns from its first row, one variant per row. */
function productOf(group: Group): unknown {
  const first = group.rows[0] as CatalogRow;
  const dimensions =
    first.width_cm === '' && first.depth_cm === '' && first.height_cm === ''
      ? undefined
      : {
          widthCm: decimal(first.width_cm, 'width_cm'),
          depthCm: decimal(first.depth_cm, 'depth_cm'),
          heightCm: decimal(first.height_cm, 'height_cm'),
        };
  if (!['true', 'false', ''].includes(first.archived)) throw new CellError('archived', 'true or false');
  return {
    name: first.name,
    category: first.category,
    ...(first.material ? { material: first.material } : {}),
    ...(first.description ? { description: first.description } : {}),
    basePrice: integer(first.base_price, 'base_price'),
    currency: first.currency,
    ...(dimensions ? { dimensions } : {}),
    ...(first.options ? { options: json(first.options, 'options') } : {}),
    ...(first.configurable_options
      ? { configurableOptions: json(first.configurable_options, 'configurable_options') }
      : {}),
    archived: first.archived === 'true',
    variants: group.rows.map((row) => ({
      sku: row.sku,
      ...(row.gtin ? { gtin: row.gtin } : {}),
      options: json(row.variant_options, 'variant_options') ?? {},
      ...(row.variant_price ? { price: integer(row.variant_price, 'variant_price') } : {}),
    })),
  };
}

/** Which column a schema issue is about, and the row (by variant index) it is on. */
function locate(issue: FieldIssue, group: Group): ImportError {
  const path = issue.path.split('.');
  const camel: Record<string, string> = {
    basePrice: 'base_price',
    configurableOptions: 'configurable_options',
    dimensions: 'width_cm',
  };
  if (path[0] === 'variants' && path[1] !== undefined && /^\d+$/.test(path[1])) {
    const index = Number(path[1]);
    const row = group.rows[index];
    const field =
      path[2] === 'options' ? 'variant_options' : path[2] === 'price' ? 'variant_price' : (path[2] ?? 'sku');
    return { line: group.lines[index] ?? group.lines[0] ?? 0, sku: row?.sku, field, message: issue.message };
  }
  const field = camel[path[0] ?? ''] ?? path[0] ?? '(row)';
  return { line: group.lines[0] ?? 0, sku: group.rows[0]?.sku, field, message: issue.message };
}

/**
 * Parses and checks a catalog CSV (the export's columns, docs/catalog.md) row by row: each error
 * names its line, SKU and column. Rows of one product are consecutive with the same `product_id`
 * (or, when it is empty, the same `name`).
 */
export function readCatalogCsv(text: string): {
  groups: Array<Group & { product?: ImportedProduct }>;
  errors: ImportError[];
  rows: number;
} {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parse(text, { columns: true, info: true, skip_empty_lines: true, bom: true, trim: false });
  } catch (error) {
    throw badRequest('invalid_csv', `not a CSV this import reads: ${(error as Error).message}`.slice(0, 300));
  }
  if (records.length > importRowsMax) throw badRequest('too_many_rows', `at most ${importRowsMax} rows per import`);
  const header = Object.keys(records[0]?.record ?? {});
  const missing = catalogColumns.filter((column) => !header.includes(column));
  if (records.length > 0 && missing.length > 0)
    throw badRequest('invalid_csv', `missing columns: ${missing.join(', ')}`, { missing });
  const extra = header.filter((column) => !(catalogColumns as readonly string[]).includes(column));
  if (extra.length > 0) throw badRequest('invalid_csv', `unknown columns: ${extra.join(', ')}`, { extra });

  const groups: Array<Group & { product?: ImportedProduct }> = [];
  for (const { record, info } of records) {
    const row = record as CatalogRow;
    // csv-parse counts the header line too: `info.lines` is the line the record ends on.
    const key = row.product_id !== '' ? `id:${row.product_id}` : `name:${row.name}`;
    const last = groups.at(-1);
    if (last && last.key === key) {
      last.rows.push(row);
      last.lines.push(info.lines);
    } else groups.push({ key, rows: [row], lines: [info.lines] });
  }
  const errors: ImportError[] = [];
  const seen = new Map<string, number>();
  for (const group of groups) {
    const groupErrors: ImportError[] = [];
    group.rows.forEach((row, index) => {
      const earlier = seen.get(row.sku);
      if (earlier !== undefined)
        groupErrors.push({
          line: group.lines[index] ?? 0,
          sku: row.sku,
          field: 'sku',
          message: `also on line ${earlier}`,
        });
      else seen.set(row.sku, group.lines[index] ?? 0);
    });
    try {
      const parsed = productUpdateSchema.safeParse(productOf(group));
      if (!parsed.success) groupErrors.push(...fieldIssues(parsed.error).map((issue) => locate(issue, group)));
      else if (groupErrors.length === 0) {
        const id = group.rows[0]?.product_id || undefined;
        if (id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id))
          groupErrors.push({
            line: group.lines[0] ?? 0,
            sku: group.rows[0]?.sku,
            field: 'product_id',
            message: 'letters, digits, _ and -',
          });
        else group.product = { id, input: { ...parsed.data, variants: parsed.data.variants ?? [] } };
      }
    } catch (error) {
      if (!(error instanceof CellError)) throw error;
      groupErrors.push({
        line: group.lines[0] ?? 0,
        sku: group.rows[0]?.sku,
        field: error.field,
        message: error.message,
      });
    }
    errors.push(...groupErrors);
  }
  return { groups, errors, rows: records.length };
}

/**
 * `POST /catalog/import`: checks every row, then writes. Mode `all` writes nothing if any row is
 * wrong (422 with the report); mode `valid` writes the products whose rows are all valid and reports
 * the rest. Idempotent by SKU (see importProducts).
 */
export async function importCatalogCsv(
  db: Kysely<Database>,
  text: string,
  mode: ImportMode,
  nowMs: number,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<ImportReport> {
  const { groups, errors, rows } = readCatalogCsv(text);
  const valid = groups.filter((group) => group.product !== undefined);
  const report = (written: { created: number; updated: number; unchanged: number }): ImportReport => ({
    rows,
    products: groups.length,
    ...written,
    rejected: groups.filter((group) => group.product === undefined).reduce((sum, group) => sum + group.rows.length, 0),
    errors: errors.slice(0, errorsReportedMax),
  });
  if (errors.length > 0 && mode === 'all') {
    throw new DomainError(
      'unprocessable',
      'import_invalid',
      `${errors.length} error(s); nothing was imported (send mode=valid to import the valid rows)`,
      report({ created: 0, updated: 0, unchanged: 0 }),
    );
  }
  const written = await importProducts(
    db,
    valid.map((group) => group.product as ImportedProduct),
    nowMs,
    (done) => onProgress(done, valid.length),
  );
  return report(written);
}
