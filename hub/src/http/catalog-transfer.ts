import { authorize, type Permission } from '@dovetail/shared';
import { getTRPCErrorFromUnknown } from '@trpc/server';
import { stringify } from 'csv-stringify/sync';
import type { Context as HonoContext } from 'hono';
import { type ImportMode, importCatalogCsv } from '../catalog/import.ts';
import { JobBoard } from '../jobs/board.ts';
import { allProducts, allStockRows, catalogColumns, productRows, stockColumns } from '../catalog/transfer.ts';
import { ApiError, asApiError, toErrorResponse } from './errors.ts';
import { restContext } from './rest.ts';
import { guard, type HubDeps } from './trpc.ts';

/**
 * Bulk catalog transfer over REST (docs/catalog.md), outside the tRPC bridge because the answers
 * stream: `GET /api/v1/catalog/export?format=csv|ndjson` (one CSV row per variant, the columns the
 * import takes; NDJSON one product per line) and `GET /api/v1/stock/export?format=csv|ndjson` (stock
 * levels per warehouse and SKU, only the caller's warehouses for a scoped principal). Each page is
 * read and written before the next is read, so memory stays bounded whatever the catalog's size.
 */
type Format = 'csv' | 'ndjson';

function formatOf(c: HonoContext): Format {
  const format = c.req.query('format') ?? 'csv';
  if (format !== 'csv' && format !== 'ndjson')
    throw new ApiError(400, 'invalid_input', 'format must be csv or ndjson', {
      issues: [{ path: 'format', message: 'csv or ndjson', code: 'invalid_value' }],
    });
  return format;
}

function failure(deps: HubDeps, cause: unknown): Response {
  const error = asApiError(cause) ?? getTRPCErrorFromUnknown(cause);
  if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger.error({ err: error.cause ?? error }, 'export failed');
  const { status, body, headers } = toErrorResponse(error);
  return new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } });
}

function streamed(format: Format, name: string, pages: AsyncGenerator<string>): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await pages.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'content-disposition': `attachment; filename="${name}.${format}"`,
      'cache-control': 'no-store',
    },
  });
}

async function* catalogText(deps: HubDeps, format: Format): AsyncGenerator<string> {
  if (format === 'csv') yield stringify([[...catalogColumns]]);
  for await (const products of allProducts(deps.db)) {
    if (format === 'ndjson') yield products.map((product) => `${JSON.stringify(product)}\n`).join('');
    else yield stringify(products.flatMap(productRows), { columns: [...catalogColumns] });
  }
}

async function* stockText(deps: HubDeps, format: Format, visible: (warehouseId: string) => boolean) {
  if (format === 'csv') yield stringify([[...stockColumns]]);
  for await (const page of allStockRows(deps.db, deps.nowMs())) {
    const rows = page.filter((row) => visible(String(row.warehouse_id)));
    if (rows.length === 0) continue;
    if (format === 'ndjson') yield rows.map((row) => `${JSON.stringify(row)}\n`).join('');
    else yield stringify(rows, { columns: [...stockColumns] });
  }
}

export function createCatalogExportRoute(deps: HubDeps) {
  return async function catalogExport(c: HonoContext): Promise<Response> {
    try {
      const context = await restContext(c, deps);
      guard(context, 'catalog.read');
      const format = formatOf(c);
      return streamed(format, 'catalog', catalogText(deps, format));
    } catch (cause) {
      return failure(deps, cause);
    }
  };
}

export function createStockExportRoute(deps: HubDeps) {
  const permission: Permission = 'inventory.read';
  return async function stockExport(c: HonoContext): Promise<Response> {
    try {
      const context = await restContext(c, deps);
      const principal = guard(context, permission);
      const format = formatOf(c);
      const visible = (warehouseId: string) => authorize(principal, permission, warehouseId).ok;
      return streamed(format, 'stock', stockText(deps, format, visible));
    } catch (cause) {
      return failure(deps, cause);
    }
  };
}

/** The largest CSV one import takes (about 50,000 rows). */
export const importBodyBytesMax = 32 * 1024 * 1024;
/** Imports of more rows than this run as a job (202 and `GET /jobs/{id}`) unless `wait=true`. */
const importInlineRowsMax = 2_000;

/**
 * `POST /api/v1/catalog/import` (`text/csv`, the export's columns; `?mode=all|valid`, `?async=true|false`)
 * and `GET /api/v1/jobs/{id}`. A small file is imported before the answer (200 with the report, or
 * 422 `import_invalid` with it); a large one, or `async=true`, answers 202 with a job whose progress
 * and report `GET /jobs/{id}` shows.
 */
export function createCatalogImportRoutes(deps: HubDeps) {
  const jobs = new JobBoard(deps.db, deps.nowMs, deps.logger);
  async function catalogImport(c: HonoContext): Promise<Response> {
    try {
      const context = await restContext(c, deps);
      const principal = guard(context, 'catalog.write');
      const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim();
      if (type !== 'text/csv') throw new ApiError(415, 'unsupported_media_type', 'send the catalog as text/csv');
      const length = Number(c.req.header('content-length') ?? '0');
      if (length > importBodyBytesMax)
        throw new ApiError(413, 'payload_too_large', `an import is at most ${importBodyBytesMax} bytes`);
      const mode = c.req.query('mode') ?? 'all';
      if (mode !== 'all' && mode !== 'valid')
        throw new ApiError(400, 'invalid_input', 'mode must be all or valid', {
          issues: [{ path: 'mode', message: 'all or valid', code: 'invalid_value' }],
        });
      const text = await c.req.text();
      if (text.length > importBodyBytesMax)
        throw new ApiError(413, 'payload_too_large', `an import is at most ${importBodyBytesMax} bytes`);
      const lines = text.split('\n').length;
      const background =
        c.req.query('async') === 'true' || (c.req.query('async') !== 'false' && lines > importInlineRowsMax);
      if (background) {
        const job = await jobs.start('catalog.import', principal.subject, (progress) =>
          importCatalogCsv(deps.db, text, mode as ImportMode, deps.nowMs(), progress),
        );
        return new Response(JSON.stringify(job), {
          status: 202,
          headers: { 'content-type': 'application/json', location: `/api/v1/jobs/${job.id}` },
        });
      }
      const report = await importCatalogCsv(deps.db, text, mode as ImportMode, deps.nowMs());
      return new Response(JSON.stringify(report), { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (cause) {
      return failure(deps, cause);
    }
  }
  async function job(c: HonoContext): Promise<Response> {
    try {
      const context = await restContext(c, deps);
      guard(context, 'catalog.write');
      const view = await jobs.get(c.req.param('id') ?? '');
      return new Response(JSON.stringify(view), { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (cause) {
      return failure(deps, cause);
    }
  }
  return { catalogImport, job };
}
