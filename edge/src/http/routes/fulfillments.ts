import {
  DomainError,
  badRequest,
  commonErrorCodes,
  edgeFulfillmentStatuses,
  fulfillmentIdSchema,
  limits,
  packRequestSchema,
  pickRequestSchema,
  shipRequestSchema,
} from '@dovetail/shared';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { DeskResponse, FulfillmentDesk } from '../../services/fulfillments.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { decodeCursor, encodeCursor, idempotencyKey, jsonBody, queryParams } from '../validate.ts';

const listQuerySchema = z.strictObject({
  status: z
    .enum(['active', ...edgeFulfillmentStatuses])
    .default('active')
    .describe('active = open, picking or packed'),
  cancelRequested: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
  cursor: z.string().max(512).optional(),
});

function fulfillmentId(c: Context): string {
  const parsed = fulfillmentIdSchema.safeParse(c.req.param('id'));
  if (!parsed.success) {
    const issues = [{ path: 'id', message: 'not a fulfillment order id', code: 'invalid_format' }];
    throw badRequest(commonErrorCodes.invalidInput, 'invalid path parameter: id', { issues });
  }
  return parsed.data;
}

/**
 * `GET /fulfillments`: the pick list, from the fulfillment orders the hub sent this warehouse.
 * `POST /fulfillments/{id}/pick|pack|ship`: the warehouse's progress on one, each a durable local
 * transaction that works with the hub link down; the facts follow upstream.
 */
export function fulfillmentRoutes(deps: {
  desk: FulfillmentDesk;
  warehouseId: string;
  nowMs: () => number;
  onRecorded: () => void;
}) {
  const { desk, warehouseId } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/fulfillments', (c) => {
    permit(c.get('session').principal, 'fulfillments.read', warehouseId);
    const query = queryParams(c, listQuerySchema);
    const after = decodeCursor(
      query.cursor,
      z.strictObject({ createdMs: z.int(), id: z.string().max(64), status: z.string() }),
    );
    if (after && after.status !== query.status)
      throw badRequest('invalid_cursor', 'the cursor belongs to another status');
    const page = desk.list({ status: query.status, cancelRequested: query.cancelRequested }, after, query.limit);
    return c.json({
      items: page.items,
      nextCursor: page.next ? encodeCursor({ ...page.next, status: query.status }) : null,
    });
  });

  app.get('/fulfillments/:id', (c) => {
    permit(c.get('session').principal, 'fulfillments.read', warehouseId);
    const view = desk.view(fulfillmentId(c));
    if (!view)
      throw new DomainError(
        'not_found',
        'unknown_fulfillment',
        'no such fulfillment order at this warehouse; refresh the pick list',
      );
    return c.json(view);
  });

  const answer = (c: Context, response: DeskResponse) => {
    if (response.replayed) c.header('Idempotent-Replayed', 'true');
    if (response.status < 300 && !response.replayed) deps.onRecorded();
    return c.json(response.body as object, response.status as 201);
  };
  const actor = (c: Context<{ Variables: AuthVariables }>) => {
    const session = c.get('session');
    permit(session.principal, 'fulfillments.fulfill', warehouseId);
    const key = idempotencyKey(c);
    return { username: session.username, idempotency: key ? { scope: session.staffId, key } : undefined };
  };

  app.post('/fulfillments/:id/pick', async (c) => {
    const who = actor(c);
    const { value } = await jsonBody(c, pickRequestSchema);
    return answer(c, desk.pick(fulfillmentId(c), value, who.username, deps.nowMs(), who.idempotency));
  });
  app.post('/fulfillments/:id/pack', async (c) => {
    const who = actor(c);
    const { value } = await jsonBody(c, packRequestSchema);
    return answer(c, desk.pack(fulfillmentId(c), value, who.username, deps.nowMs(), who.idempotency));
  });
  app.post('/fulfillments/:id/ship', async (c) => {
    const who = actor(c);
    const { value } = await jsonBody(c, shipRequestSchema);
    return answer(c, desk.ship(fulfillmentId(c), value, who.username, deps.nowMs(), who.idempotency));
  });
  return app;
}
