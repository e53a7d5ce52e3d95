import { openapi } from '@dovetail/shared';
import { catalogColumns, stockColumns } from '../catalog/transfer.ts';

type JsonObject = Record<string, unknown>;

const formatParameter = {
  name: 'format',
  in: 'query',
  required: false,
  description: '`csv` (the default; a header row, then one row per record) or `ndjson` (one JSON object per line)',
  schema: { type: 'string', enum: ['csv', 'ndjson'], default: 'csv' },
};

function exportOperation(operationId: string, summary: string, tags: string[], permission: string): JsonObject {
  return {
    get: {
      operationId,
      summary,
      tags,
      parameters: [formatParameter],
      security: [{ bearer: [] }, { clientCredentials: [permission] }],
      responses: {
        '200': {
          description: 'Streamed, a page of records at a time',
          headers: openapi.headerRefs('X-Request-Id'),
          content: {
            'text/csv': { schema: { type: 'string' } },
            'application/x-ndjson': { schema: { type: 'string' } },
          },
        },
        ...openapi.errorResponses([400, 401, 403, 429, 500]),
      },
    },
  };
}

const json = (schema: JsonObject) => ({ content: { 'application/json': { schema } } });

const importReport: JsonObject = {
  type: 'object',
  required: ['rows', 'products', 'created', 'updated', 'unchanged', 'rejected', 'errors'],
  properties: {
    rows: { type: 'integer' },
    products: { type: 'integer' },
    created: { type: 'integer' },
    updated: { type: 'integer' },
    unchanged: { type: 'integer', description: 'products whose content did not change: not written again' },
    rejected: { type: 'integer', description: 'rows of products not written because a row of theirs is wrong' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['line', 'field', 'message'],
        properties: {
          line: { type: 'integer' },
          sku: { type: 'string' },
          field: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const job: JsonObject = {
  type: 'object',
  required: ['id', 'kind', 'status', 'done', 'total', 'createdAt'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['catalog.import'] },
    status: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
    done: { type: 'integer', description: 'products written so far' },
    total: { type: 'integer' },
    result: importReport,
    error: { type: 'object' },
    createdAt: { type: 'string' },
    finishedAt: { type: 'string' },
  },
};

/** The streamed exports and the import of http/catalog-transfer.ts, which no tRPC procedure describes. */
export function catalogTransferPaths(): Record<string, JsonObject> {
  return {
    '/catalog/import': {
      post: {
        operationId: 'catalog-import',
        summary:
          'Import a catalog CSV (the export columns), checked row by row. mode=all (default): any error and nothing is written (422 import_invalid, the report in details); mode=valid: products whose rows are valid are written. Idempotent by SKU: unchanged products are not written. Large files (or async=true) answer 202 with a job',
        tags: ['catalog'],
        security: [{ bearer: [] }, { clientCredentials: ['catalog.write'] }],
        parameters: [
          { name: 'mode', in: 'query', required: false, schema: { type: 'string', enum: ['all', 'valid'] } },
          { name: 'async', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
        responses: {
          '200': { description: 'Imported', headers: openapi.headerRefs('X-Request-Id'), ...json(importReport) },
          '202': {
            description: 'Running as a job',
            headers: openapi.headerRefs('X-Request-Id', 'Location'),
            ...json(job),
          },
          ...openapi.errorResponses([400, 401, 403, 409, 413, 415, 422, 429, 500]),
        },
      },
    },
    '/jobs/{id}': {
      get: {
        operationId: 'job',
        summary: 'A long import: progress, then its report (any hub instance answers)',
        tags: ['catalog'],
        security: [{ bearer: [] }, { clientCredentials: ['catalog.write'] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'OK', headers: openapi.headerRefs('X-Request-Id'), ...json(job) },
          ...openapi.errorResponses([401, 403, 404, 429, 500]),
        },
      },
    },
    '/catalog/export': exportOperation(
      'catalog-export',
      `The whole catalog, archived products included. CSV columns (one row per variant; what the import takes): ${catalogColumns.join(', ')}; options as JSON cells. NDJSON: one product per line`,
      ['catalog'],
      'catalog.read',
    ),
    '/stock/export': exportOperation(
      'stock-export',
      `Stock levels per warehouse and SKU (a scoped caller sees its warehouses). Columns: ${stockColumns.join(', ')}`,
      ['inventory'],
      'inventory.read',
    ),
  };
}
