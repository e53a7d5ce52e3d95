import {
  DomainError,
  badRequest,
  commonErrorCodes,
  limits,
  returnIdSchema,
  returnReceiveSchema,
} from '@dovetail/shared';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { type ReturnDesk, type ReturnDeskResponse, edgeReturnStatuses } from '../../services/returns.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { decodeCursor, encodeCursor, idempotencyKey, jsonBody, queryParams } from '../validate.ts';

const listQuerySchema = z.strictObject({
  status: z.enum(edgeReturnStatuses).default('expected').describe('expected = authorized, not yet fully received'),
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
  cursor: z.string().max(512).optional(),
});

function returnId(c: Context): string {
  const parsed = returnIdSchema.safeParse(c.req.param('id'));
  if (!parsed.success) {
    const issues = [{ path: 'id', message: 'not a return id', code: 'invalid_format' }];
    throw badRequest(commonErrorCodes.invalidInput, 'invalid path parameter: id', { issues });
  }
  return parsed.data;
}

/**
 * `GET /returns?status=expected`: the returns the hub authorized for this warehouse.
 * `POST /returns/{id}/receive`: units accounted for, each restocked, damaged or missing: one durable
 * local transaction that works with the hub link down; the stock events and the fact follow upstream.
 */
export function returnRoutes(deps: {
  returns: ReturnDesk;
  warehouseId: string;
  nowMs: () => number;
  onRecorded: () => void;
}) {
  const { returns, warehouseId } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/returns', (c) => {
    permit(c.get('session').principal, 'returns.read', warehouseId);
    const query = queryParams(c, listQuerySchema);
    const after = decodeCursor(
      query.cursor,
      z.strictObject({ createdMs: z.int(), id: z.string().max(64), status: z.string() }),
    );
    if (after && after.status !== query.status)
      throw badRequest('invalid_cursor', 'the cursor belongs to another status');
    const page = returns.list(query.status, after, query.limit);
    return c.json({
      items: page.items,
      nextCursor: page.next ? encodeCursor({ ...page.next, status: query.status }) : null,
    });
  });

  app.get('/returns/:id', (c) => {
    permit(c.get('session').principal, 'returns.read', warehouseId);
    const view = returns.view(returnId(c));
    if (!view) throw new DomainError('not_found', 'unknown_return', 'no such return is expected at this warehouse');
    return c.json(view);
  });

  const answer = (c: Context, response: ReturnDeskResponse) => {
    if (response.replayed) c.header('Idempotent-Replayed', 'true');
    if (response.status < 300 && !response.replayed) deps.onRecorded();
    return c.json(response.body as object, response.status as 201);
  };

  app.post('/returns/:id/receive', async (c) => {
    const session = c.get('session');
    permit(session.principal, 'returns.receive', warehouseId);
    const key = idempotencyKey(c);
    const { value } = await jsonBody(c, returnReceiveSchema);
    return answer(
      c,
      returns.receive(
        returnId(c),
        value,
        session.username,
        deps.nowMs(),
        key ? { scope: session.staffId, key } : undefined,
      ),
    );
  });
  return app;
}
