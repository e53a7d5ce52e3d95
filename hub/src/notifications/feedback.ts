import {
  type FeedbackAnswer,
  type RatingSummary,
  badRequest,
  conflict,
  limits,
  notFound,
  ratingSummary,
} from '@dovetail/shared';
import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';

const tokenPattern = /^[A-Za-z0-9_-]{22,64}$/;

/** What the feedback page may show: the order number only (the link may be forwarded). */
export type FeedbackRequestView = { orderNumber: string; answered: boolean };

export async function feedbackRequest(db: Kysely<Database>, token: string): Promise<FeedbackRequestView | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  const row = await db
    .selectFrom('feedback as f')
    .innerJoin('orders as o', 'o.id', 'f.order_id')
    .select(['o.number', 'f.answered_at'])
    .where('f.token', '=', token)
    .executeTakeFirst();
  return row ? { orderNumber: row.number, answered: row.answered_at !== null } : undefined;
}

/**
 * `POST /feedback/{token}`: the one answer of an order. Only a request with no answer yet takes
 * one (a conditional update), so a second answer, or two at once, leaves the first: 409
 * `feedback_already_given`. An unknown token is 404.
 */
export async function answerFeedback(
  db: Kysely<Database>,
  token: string,
  answer: FeedbackAnswer,
  nowMs: number,
): Promise<{ orderNumber: string }> {
  const request = await feedbackRequest(db, token);
  if (!request) throw notFound('feedback request');
  const updated = await db
    .updateTable('feedback')
    .set({ rating: answer.rating, comment: answer.comment ? answer.comment : null, answered_at: nowMs })
    .where('token', '=', token)
    .where('answered_at', 'is', null)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) {
    throw conflict('feedback_already_given', 'this order was already rated; thank you', {
      orderNumber: request.orderNumber,
    });
  }
  return { orderNumber: request.orderNumber };
}

export type FeedbackQuery = {
  warehouseId?: string | undefined;
  carrier?: string | undefined;
  cursor?: string;
  limit?: number;
};

export type FeedbackItem = {
  orderId: string;
  orderNumber: string;
  rating: number;
  comment?: string;
  answeredAt: string;
  warehouses: string[];
  carriers: string[];
};

export type FeedbackList = {
  items: FeedbackItem[];
  nextCursor: string | null;
  summary: {
    overall: RatingSummary;
    byWarehouse: Array<{ warehouseId: string } & RatingSummary>;
    byCarrier: Array<{ carrier: string } & RatingSummary>;
  };
};

/** Carriers are compared as carrier tracking compares them: trimmed, lower case. */
const carrierKey = (carrier: string) => carrier.trim().toLowerCase();

/**
 * `GET /feedback`: answers, newest first, cursor-paged, each with the warehouses and carriers its
 * order's shipments went through; and a summary (count, average, distribution 1..5) of every answer
 * matching the filters, overall, per warehouse and per carrier. An answer counts once for each
 * warehouse and each carrier that shipped part of its order.
 */
export async function listFeedback(db: Kysely<Database>, query: FeedbackQuery): Promise<FeedbackList> {
  const limit = query.limit ?? limits.pageSizeDefault;
  const filtered = <O>(builder: SelectQueryBuilder<Database, 'feedback', O>) => {
    let next = builder.where('feedback.answered_at', 'is not', null);
    if (query.warehouseId !== undefined) {
      const warehouseId = query.warehouseId;
      next = next.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('shipments')
            .select('shipments.id')
            .whereRef('shipments.order_id', '=', 'feedback.order_id')
            .where('shipments.warehouse_id', '=', warehouseId),
        ),
      );
    }
    if (query.carrier !== undefined) {
      const carrier = carrierKey(query.carrier);
      next = next.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('shipments')
            .select('shipments.id')
            .whereRef('shipments.order_id', '=', 'feedback.order_id')
            .where(sql<string>`lower(trim(shipments.carrier))`, '=', carrier),
        ),
      );
    }
    return next;
  };
  // The page: answered_at descending, order id as the tie-break; the cursor is the last row's key.
  let page = filtered(
    db
      .selectFrom('feedback')
      .innerJoin('orders', 'orders.id', 'feedback.order_id')
      .select(['feedback.order_id', 'orders.number', 'feedback.rating', 'feedback.comment', 'feedback.answered_at']),
  );
  const after = parseCursor(query.cursor);
  if (after) {
    page = page.where((eb) =>
      eb.or([
        eb('feedback.answered_at', '<', after.answeredAt),
        eb.and([eb('feedback.answered_at', '=', after.answeredAt), eb('feedback.order_id', '<', after.orderId)]),
      ]),
    );
  }
  const rows = await page
    .orderBy('feedback.answered_at', 'desc')
    .orderBy('feedback.order_id', 'desc')
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  const routes = await shipmentRoutes(
    db,
    shown.map((row) => row.order_id),
  );
  const items = shown.map((row) => ({
    orderId: row.order_id,
    orderNumber: row.number,
    rating: Number(row.rating),
    ...(row.comment ? { comment: row.comment } : {}),
    answeredAt: new Date(Number(row.answered_at)).toISOString(),
    warehouses: [...(routes.get(row.order_id)?.warehouses ?? [])].sort(),
    carriers: [...(routes.get(row.order_id)?.carriers ?? [])].sort(),
  }));
  const last = shown.at(-1);
  const nextCursor = more && last ? encodeCursor(`${Number(last.answered_at)}|${last.order_id}`) : null;

  // The summary: every answer matching the filters (not only this page), joined to the distinct
  // warehouses and carriers of its order's shipments.
  const answered = filtered(db.selectFrom('feedback').select(['feedback.order_id', 'feedback.rating'])).as('a');
  const overall = await db
    .selectFrom(answered)
    .select(['a.rating', sql<number>`count(*)`.as('count')])
    .groupBy('a.rating')
    .execute();
  const perWarehouse = await db
    .selectFrom(answered)
    .innerJoin(
      (eb) => eb.selectFrom('shipments').select(['shipments.order_id', 'shipments.warehouse_id']).distinct().as('s'),
      (join) => join.onRef('s.order_id', '=', 'a.order_id'),
    )
    .select(['s.warehouse_id as key', 'a.rating', sql<number>`count(*)`.as('count')])
    .groupBy(['s.warehouse_id', 'a.rating'])
    .execute();
  const perCarrier = await db
    .selectFrom(answered)
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('shipments')
          .select(['shipments.order_id', sql<string>`lower(trim(shipments.carrier))`.as('carrier')])
          .distinct()
          .as('c'),
      (join) => join.onRef('c.order_id', '=', 'a.order_id'),
    )
    .select(['c.carrier as key', 'a.rating', sql<number>`count(*)`.as('count')])
    .groupBy(['c.carrier', 'a.rating'])
    .execute();
  return {
    items,
    nextCursor,
    summary: {
      overall: ratingSummary(overall.map((row) => ({ rating: Number(row.rating), count: Number(row.count) }))),
      byWarehouse: groups(perWarehouse).map(([warehouseId, summary]) => ({ warehouseId, ...summary })),
      byCarrier: groups(perCarrier).map(([carrier, summary]) => ({ carrier, ...summary })),
    },
  };
}

/** Rows of (key, rating, count) folded into one summary per key, the most answered first, bounded. */
function groups(rows: ReadonlyArray<{ key: string; rating: number | null; count: number }>): [string, RatingSummary][] {
  const byKey = new Map<string, { rating: number; count: number }[]>();
  for (const row of rows) {
    const list = byKey.get(row.key) ?? [];
    list.push({ rating: Number(row.rating), count: Number(row.count) });
    byKey.set(row.key, list);
  }
  return [...byKey]
    .map(([key, counts]): [string, RatingSummary] => [key, ratingSummary(counts)])
    .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limits.feedbackSummaryGroupsMax);
}

async function shipmentRoutes(db: Kysely<Database>, orderIds: string[]) {
  const routes = new Map<string, { warehouses: Set<string>; carriers: Set<string> }>();
  if (orderIds.length === 0) return routes;
  const rows = await db
    .selectFrom('shipments')
    .select(['order_id', 'warehouse_id', 'carrier'])
    .where('order_id', 'in', orderIds)
    .execute();
  for (const row of rows) {
    const route = routes.get(row.order_id) ?? { warehouses: new Set(), carriers: new Set() };
    route.warehouses.add(row.warehouse_id);
    route.carriers.add(carrierKey(row.carrier));
    routes.set(row.order_id, route);
  }
  return routes;
}

function parseCursor(cursor: string | undefined): { answeredAt: number; orderId: string } | undefined {
  const key = decodeCursor(cursor);
  if (key === undefined) {
    if (cursor !== undefined) throw badCursor();
    return undefined;
  }
  const [answeredAt, orderId] = key.split('|');
  if (!answeredAt || !orderId || !/^\d+$/.test(answeredAt)) throw badCursor();
  return { answeredAt: Number(answeredAt), orderId };
}

const badCursor = () => badRequest('invalid_cursor', 'cursor is not one this list returned');
