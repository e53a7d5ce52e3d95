import { createHash } from 'node:crypto';
import {
  badRequest,
  commonErrorCodes,
  DomainError,
  limits,
  type SupplyKind,
  supplyReceiveCommandSchema,
} from '@dovetail/shared';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { StockCommand } from '../../services/stock.ts';
import type { StockWriter } from '../../services/stock-writer.ts';
import type { SupplyDesk } from '../../services/supply.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { idempotencyKey, jsonBody, queryParams } from '../validate.ts';

const listQuerySchema = z.strictObject({
  status: z.enum(['open', 'all']).default('open').describe('open = still expecting units'),
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
});

const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

function supplyId(c: Context): string {
  const parsed = idSchema.safeParse(c.req.param('id'));
  if (!parsed.success) {
    const issues = [{ path: 'id', message: 'not an id', code: 'invalid_format' }];
    throw badRequest(commonErrorCodes.invalidInput, 'invalid path parameter: id', { issues });
  }
  return parsed.data;
}

/**
 * Purchase orders and production requests (docs/catalog.md, "Pre-orders and made-to-order"):
 * `GET /purchase-orders`, `GET /production` list what this warehouse expects; `POST
 * /purchase-orders/{id}/receive` and `POST /production/{id}/receive` record the units as a `receive`
 * scan whose reference names the request: one durable local write through the stock writer, with or
 * without the hub link, sent upstream like every scan.
 */
export function supplyRoutes(deps: { supply: SupplyDesk; writer: StockWriter; warehouseId: string }) {
  const { supply, writer, warehouseId } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();
  const kinds: Array<[string, SupplyKind]> = [
    ['purchase-orders', 'purchase_order'],
    ['production', 'production'],
  ];
  for (const [path, kind] of kinds) {
    app.get(`/${path}`, (c) => {
      permit(c.get('session').principal, 'stock.read', warehouseId);
      const query = queryParams(c, listQuerySchema);
      return c.json({ items: supply.list(kind, query.status, query.limit) });
    });
    app.get(`/${path}/:id`, (c) => {
      permit(c.get('session').principal, 'stock.read', warehouseId);
      const view = supply.view(kind, supplyId(c));
      if (!view) throw new DomainError('not_found', 'unknown_supply', 'nothing with this id is expected here');
      return c.json(view);
    });
    app.post(`/${path}/:id/receive`, async (c) => {
      const session = c.get('session');
      permit(session.principal, 'stock.record', warehouseId);
      const key = idempotencyKey(c);
      const id = supplyId(c);
      const { value, raw } = await jsonBody(c, supplyReceiveCommandSchema);
      const claim = key
        ? {
            scope: session.staffId,
            key,
            requestHash: createHash('sha256').update(`${path}/${id}/receive\n${raw}`).digest('hex'),
          }
        : undefined;
      // A receipt sent again gets its first answer, before the check its own units would now fail.
      const replayed = claim && supply.replay(claim);
      const reference = replayed ? '' : supply.checkReceipt(kind, id, value.sku, value.quantity);
      const command = { ...value, reference, type: 'receive' } as StockCommand;
      const response = replayed ?? (await writer.submit({ command, actor: session.username, idempotency: claim }));
      if (response.replayed) c.header('Idempotent-Replayed', 'true');
      if (response.status === 503) c.header('Retry-After', '1');
      return c.json(response.body as object, response.status as 201);
    });
  }
  return app;
}
