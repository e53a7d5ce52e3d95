import { createHash } from 'node:crypto';
import {
  DomainError,
  type Permission,
  badRequest,
  type StockEventType,
  adjustCommandSchema,
  binSchema,
  countCommandSchema,
  damageCommandSchema,
  instoreSaleCommandSchema,
  limits,
  moveCommandSchema,
  quotaReturnCommandSchema,
  receiveCommandSchema,
  skuSchema,
  transferInCommandSchema,
  transferOutCommandSchema,
} from '@dovetail/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { StockBook, StockCommand } from '../../services/stock.ts';
import type { StockQueries } from '../../services/stock-queries.ts';
import type { StockWriter } from '../../services/stock-writer.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { decodeCursor, encodeCursor, idempotencyKey, jsonBody, queryParams } from '../validate.ts';

/** Each scan action: its URL segment, the event it records, its body schema and the permission it needs. */
const actions: ReadonlyArray<{ path: string; type: StockEventType; schema: z.ZodType; permission: Permission }> = [
  { path: 'receive', type: 'receive', schema: receiveCommandSchema, permission: 'stock.record' },
  { path: 'adjust', type: 'adjust', schema: adjustCommandSchema, permission: 'stock.adjust' },
  { path: 'count', type: 'count', schema: countCommandSchema, permission: 'stock.record' },
  { path: 'damage', type: 'damage', schema: damageCommandSchema, permission: 'stock.record' },
  { path: 'move', type: 'move', schema: moveCommandSchema, permission: 'stock.record' },
  { path: 'transfer-out', type: 'transfer_out', schema: transferOutCommandSchema, permission: 'stock.record' },
  { path: 'transfer-in', type: 'transfer_in', schema: transferInCommandSchema, permission: 'stock.record' },
  { path: 'instore-sale', type: 'instore_sale', schema: instoreSaleCommandSchema, permission: 'stock.instore_sale' },
  { path: 'quota-return', type: 'quota_return', schema: quotaReturnCommandSchema, permission: 'stock.adjust' },
];
export const stockActionPaths = actions.map((action) => action.path);

const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');
const limitQuery = z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault);

const listQuerySchema = z.strictObject({
  sku: skuSchema.optional().describe('SKU prefix'),
  bin: binSchema.optional(),
  unverified: booleanQuery.optional(),
  inStock: booleanQuery.optional(),
  limit: limitQuery,
  cursor: z.string().max(512).optional(),
});
const historyQuerySchema = z.strictObject({
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: limitQuery,
  cursor: z.string().max(512).optional(),
});

export function stockRoutes(deps: { book: StockBook; writer: StockWriter; queries: StockQueries }) {
  const { book, writer, queries } = deps;
  const warehouseId = book.warehouseId;
  const app = new Hono<{ Variables: AuthVariables }>();

  for (const action of actions) {
    app.post(`/stock/${action.path}`, async (c) => {
      const session = c.get('session');
      permit(session.principal, action.permission, warehouseId);
      const key = idempotencyKey(c);
      const { value, raw } = await jsonBody(c, action.schema);
      const command = { ...(value as object), type: action.type } as StockCommand;
      const response = await writer.submit({
        command,
        actor: session.username,
        idempotency: key
          ? {
              scope: session.staffId,
              key,
              requestHash: createHash('sha256').update(`${action.path}\n${raw}`).digest('hex'),
            }
          : undefined,
      });
      if (response.replayed) c.header('Idempotent-Replayed', 'true');
      if (response.status === 503) c.header('Retry-After', '1');
      // The body as the writer serialized it for the Idempotency-Key: not stringified a second time.
      return c.body(response.json ?? JSON.stringify(response.body), response.status as 201, {
        'content-type': 'application/json',
      });
    });
  }

  app.get('/stock', (c) => {
    permit(c.get('session').principal, 'stock.read', warehouseId);
    const query = queryParams(c, listQuerySchema);
    const after = decodeCursor(query.cursor, z.strictObject({ afterSku: skuSchema }));
    const page = queries.list({
      skuPrefix: query.sku,
      bin: query.bin,
      unverified: query.unverified,
      inStock: query.inStock,
      afterSku: after?.afterSku,
      limit: query.limit,
    });
    return c.json({
      items: page.items,
      nextCursor: page.nextSku === undefined ? null : encodeCursor({ afterSku: page.nextSku }),
    });
  });

  app.get('/stock/:sku', (c) => {
    permit(c.get('session').principal, 'stock.read', warehouseId);
    const sku = parseSku(c.req.param('sku'));
    const partition = book.read(sku);
    if (!partition.exists && !partition.verified) {
      throw new DomainError(
        'not_found',
        'unknown_sku',
        `no stock was ever recorded for ${sku} here and the catalog does not list it`,
      );
    }
    return c.json(book.view(sku));
  });

  app.get('/stock/:sku/history', (c) => {
    permit(c.get('session').principal, 'stock.read', warehouseId);
    const sku = parseSku(c.req.param('sku'));
    const query = queryParams(c, historyQuerySchema);
    const position = decodeCursor(
      query.cursor,
      z.strictObject({ position: z.int().min(0), order: z.enum(['asc', 'desc']) }),
    );
    if (position && position.order !== query.order)
      throw badRequest('invalid_cursor', 'the cursor belongs to the other order');
    const page = queries.history(sku, {
      before: query.order === 'desc' ? position?.position : undefined,
      after: query.order === 'asc' ? position?.position : undefined,
      limit: query.limit,
      order: query.order,
    });
    return c.json({
      sku,
      warehouseId,
      items: page.items,
      nextCursor:
        page.nextPosition === undefined ? null : encodeCursor({ position: page.nextPosition, order: query.order }),
    });
  });

  return app;
}

function parseSku(raw: string): string {
  const result = skuSchema.safeParse(raw);
  if (!result.success) throw badRequest('invalid_sku', 'the SKU in the path is not a valid SKU', { path: 'sku' });
  return result.data;
}
