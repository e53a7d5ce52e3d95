import { z } from 'zod';
import * as limits from '../../limits.ts';
import { carrierSchema, trackingNumberSchema } from '../fulfillment/schemas.ts';
import { orderStatusReasonSchema } from '../orders/schemas.ts';
import {
  binSchema,
  eventHeader,
  noteSchema,
  quantitySchema,
  referenceSchema,
  serialsSchema,
  skuSchema,
} from '../stock/schemas.ts';

/**
 * Returns (RMA) and refunds. The hub owns the return: it is requested, authorized (by policy or an
 * agent) and sent to the warehouse that receives it; that warehouse's edge accounts for every unit
 * (restocked, damaged, missing) and reports it upstream, like any scan. Strict: unknown fields are refused.
 */
export const returnReasons = [
  'changed_mind',
  'wrong_size',
  'not_as_described',
  'damaged_in_transit',
  'defective',
  'wrong_item',
  'other',
] as const;
export type ReturnReason = (typeof returnReasons)[number];

/** What became of a returned unit at the warehouse. */
export const returnDispositions = ['restock', 'damaged', 'missing'] as const;
export type ReturnDisposition = (typeof returnDispositions)[number];

export const returnIdSchema = z.uuid();

const oneLinePerSku = (lines: ReadonlyArray<{ sku: string }>) =>
  new Set(lines.map((line) => line.sku)).size === lines.length;

/** `POST /orders/{id}/return`. */
export const returnRequestSchema = z.strictObject({
  lines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema, reason: z.enum(returnReasons) }))
    .min(1)
    .max(limits.orderLinesMax)
    .refine(oneLinePerSku, 'each SKU appears on one line'),
  note: noteSchema.optional(),
});
export type ReturnRequest = z.infer<typeof returnRequestSchema>;

/** `POST /returns/{id}/reject`. */
export const returnRejectSchema = z.strictObject({ reason: orderStatusReasonSchema });

/** `POST /returns/{id}/cancel`: the customer or an agent withdraws a return before anything arrived. */
export const returnCancelSchema = z.strictObject({ reason: orderStatusReasonSchema });

/** A carrier and its tracking number come together, or neither does (a refinement, reused by the hub's route). */
export const trackingTogether: [
  (body: { carrier?: string | undefined; trackingNumber?: string | undefined }) => boolean,
  { message: string; path: string[] },
] = [
  (body) => (body.carrier === undefined) === (body.trackingNumber === undefined),
  { message: 'carrier and trackingNumber go together', path: ['trackingNumber'] },
];

/** `POST /returns/{id}/in-transit`: the parcel is on its way back, with the carrier's tracking when known. */
export const returnInTransitSchema = z
  .strictObject({ carrier: carrierSchema.optional(), trackingNumber: trackingNumberSchema.optional() })
  .refine(...trackingTogether);
export type ReturnInTransit = z.infer<typeof returnInTransitSchema>;

/**
 * `POST /orders/{id}/exchange`: return `returnLines` (as a return request) and send `newLines`, held
 * at once. `advance` ships the replacement before the return arrives (needs `exchanges.advance`);
 * without it the policy decides (`HUB_RETURN_ADVANCE_EXCHANGE`).
 */
export const exchangeRequestSchema = z.strictObject({
  returnLines: returnRequestSchema.shape.lines,
  newLines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema }))
    .min(1)
    .max(limits.holdLinesMax)
    .refine(oneLinePerSku, 'each SKU appears on one line'),
  note: noteSchema.optional(),
  advance: z.boolean().optional(),
});
export type ExchangeRequest = z.infer<typeof exchangeRequestSchema>;

/** A line of a return as the warehouse expects it. */
export const returnLineSchema = z.strictObject({ sku: skuSchema, quantity: quantitySchema });
export type ReturnLine = z.infer<typeof returnLineSchema>;

/** One line of what the warehouse received: units of one SKU with one disposition. */
export const returnReceiveLineSchema = z.strictObject({
  sku: skuSchema,
  quantity: quantitySchema,
  disposition: z.enum(returnDispositions),
  bin: binSchema.optional(),
  serials: serialsSchema.optional(),
});
export type ReturnReceiveLine = z.infer<typeof returnReceiveLineSchema>;

/** `POST /returns/{id}/receive` at the edge. A SKU may appear on several lines (one per disposition). */
export const returnReceiveSchema = z.strictObject({
  lines: z.array(returnReceiveLineSchema).min(1).max(limits.orderLinesMax),
});
export type ReturnReceive = z.infer<typeof returnReceiveSchema>;

/** `PUT /warehouses/{id}/returns-policy`. */
export const returnsPolicySchema = z.strictObject({ acceptsReturns: z.boolean() });

/** `POST /orders/{id}/refunds`: a refund made by the payment system, recorded (Dovetail moves no money). */
export const refundRecordSchema = z.strictObject({
  amount: z.int().min(1).max(limits.moneyMinorUnitsMax),
  currency: z
    .string()
    .length(3)
    .regex(/^[A-Z]{3}$/, 'ISO 4217, upper case'),
  /** The payment system's id of the refund: a second call with it records nothing new. */
  reference: referenceSchema,
  returnId: returnIdSchema.optional(),
});
export type RefundRecord = z.infer<typeof refundRecordSchema>;

/**
 * What an edge reports upstream when it received a return, in the same gap-free stream as the
 * `return_restock` stock events it wrote with it (those come first, so the hub's replica already
 * holds the units when the fact moves the return).
 */
export const returnFactSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...eventHeader,
    type: z.literal('return_received'),
    returnId: returnIdSchema,
    lines: z
      .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema, disposition: z.enum(returnDispositions) }))
      .min(1)
      .max(limits.orderLinesMax),
  }),
]);
export type ReturnFact = z.infer<typeof returnFactSchema>;
export type ReturnFactBody = Omit<ReturnFact, keyof typeof eventHeader>;
