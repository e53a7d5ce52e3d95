import { z } from 'zod';
import * as limits from '../limits.ts';
import { type FulfillmentFact, fulfillmentFactSchema } from '../domain/fulfillment/schemas.ts';
import { type ReturnFact, returnFactSchema } from '../domain/returns/schemas.ts';
import { type StockEvent, stockEventSchema } from '../domain/stock/schemas.ts';
import { upstreamSeqSchema } from './common.ts';

/**
 * What an edge's upstream stream carries: stock events of the partitions it owns and facts about the
 * fulfillment orders and returns it owns, in one gap-free seq, so a pick, the ship that follows it and
 * the fact that the order left (or a return's restock events and the fact that it was received) reach
 * the hub in the order they happened, each exactly once.
 */
export const upstreamEventSchema = z.discriminatedUnion('type', [
  ...stockEventSchema.options,
  ...fulfillmentFactSchema.options,
  ...returnFactSchema.options,
]);
export type UpstreamEvent = StockEvent | FulfillmentFact | ReturnFact;

const stockTypes: ReadonlySet<string> = new Set(stockEventSchema.options.map((option) => option.shape.type.value));

export function isStockEvent(event: UpstreamEvent): event is StockEvent {
  return stockTypes.has(event.type);
}

const returnTypes: ReadonlySet<string> = new Set(returnFactSchema.options.map((option) => option.shape.type.value));

export function isReturnFact(event: UpstreamEvent): event is ReturnFact {
  return returnTypes.has(event.type);
}

/** A bounded batch of the edge's outbox, in seq order, with no gaps inside the batch. */
export const pushMessageSchema = z.strictObject({
  type: z.literal('push'),
  events: z
    .array(z.strictObject({ seq: upstreamSeqSchema, event: upstreamEventSchema }))
    .min(1)
    .max(limits.pushBatchEventsMax)
    .refine(
      (events) => events.every((entry, index) => index === 0 || entry.seq === (events[index - 1]?.seq ?? 0) + 1),
      {
        message: 'seqs in a push must be consecutive',
      },
    ),
});
export type PushMessage = z.infer<typeof pushMessageSchema>;
