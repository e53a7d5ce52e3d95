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

/** The streamed exports of http/catalog-transfer.ts, which no tRPC procedure describes. */
export function catalogTransferPaths(): Record<string, JsonObject> {
  return {
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
