import { limits } from '@dovetail/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { StockQueries } from '../../services/stock-queries.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { HttpError } from '../errors.ts';
import { decodeCursor, encodeCursor, queryParams } from '../validate.ts';

const listQuerySchema = z.strictObject({
  status: z.enum(['open', 'cancel_requested']).default('open'),
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
  cursor: z.string().max(512).optional(),
});

/** `GET /fulfillments`: the pick list, from the fulfillment orders the hub sent this warehouse. */
export function fulfillmentRoutes(deps: { queries: StockQueries; warehouseId: string }) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/fulfillments', (c) => {
    permit(c.get('session').principal, 'fulfillments.read', deps.warehouseId);
    const query = queryParams(c, listQuerySchema);
    const after = decodeCursor(query.cursor, z.strictObject({ createdMs: z.int(), id: z.string().max(64), status: z.string() }));
    if (after && after.status !== query.status) throw new HttpError(400, 'invalid_cursor', 'the cursor belongs to another status');
    const page = deps.queries.fulfillments(query.status, after, query.limit);
    return c.json({
      items: page.items,
      nextCursor: page.next ? encodeCursor({ ...page.next, status: query.status }) : null,
    });
  });
  return app;
}
