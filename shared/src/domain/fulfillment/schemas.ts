import { z } from 'zod';
import * as limits from '../../limits.ts';
import { configurationSchema } from '../catalog/configuration.ts';
import { orderStatusReasonSchema } from '../orders/schemas.ts';
import {
  binSchema,
  eventHeader,
  lotSchema,
  noteSchema,
  quantitySchema,
  referenceSchema,
  serialsSchema,
  skuSchema,
} from '../stock/schemas.ts';

/**
 * Fulfillment orders at the warehouse (docs/architecture.md, "Ownership"). Once the hub has sent a fulfillment order
 * to a warehouse, that warehouse's edge owns its pick/pack/ship state; the hub learns of it through
 * the facts below, sent upstream in the same stream (and with the same exactly-once guarantee) as
 * stock events, and only *requests* changes (cancel, release) that the edge accepts or refuses.
 */
export const fulfillmentIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'fulfillment id: letters, digits, _ and -');

export const fulfillmentLineSchema = z.strictObject({ sku: skuSchema, quantity: quantitySchema });
export type FulfillmentLine = z.infer<typeof fulfillmentLineSchema>;

/** A line of a fulfillment order sent to a warehouse: what to make or pick, as the buyer configured it. */
export const fulfillmentRequestedLineSchema = fulfillmentLineSchema.extend({
  configuration: configurationSchema.optional(),
});
export type FulfillmentRequestedLine = z.infer<typeof fulfillmentRequestedLineSchema>;

/** Units released by an answer: a line may release nothing (it was already picked or shipped). */
const releasedLinesSchema = z
  .array(z.strictObject({ sku: skuSchema, quantity: z.int().min(0).max(limits.quantityMax) }))
  .max(limits.orderLinesMax);

/** A parcel as packed: what a carrier needs to rate and label it. */
export const packageSchema = z.strictObject({
  weightGrams: z.int().min(1).max(limits.packageWeightGramsMax),
  lengthMm: z.int().min(1).max(limits.packageDimensionMmMax),
  widthMm: z.int().min(1).max(limits.packageDimensionMmMax),
  heightMm: z.int().min(1).max(limits.packageDimensionMmMax),
  reference: referenceSchema.optional(),
});
export type Package = z.infer<typeof packageSchema>;

export const carrierSchema = z
  .string()
  .min(1)
  .max(limits.carrierLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._&-]*$/, 'carrier: letters, digits, spaces and . _ & -');
export const trackingNumberSchema = z
  .string()
  .min(1)
  .max(limits.trackingNumberLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'tracking number: letters, digits and -');

/** `POST /fulfillments/{id}/pick`: one scan of a SKU (and its serials or lot) into the order's tote. */
export const pickRequestSchema = z.strictObject({
  sku: skuSchema,
  quantity: quantitySchema.default(1),
  bin: binSchema.optional(),
  lot: lotSchema.optional(),
  serials: serialsSchema.optional(),
  note: noteSchema.optional(),
});
export type PickRequest = z.infer<typeof pickRequestSchema>;

/** `POST /fulfillments/{id}/pack`: every line picked, packed into these parcels. */
export const packRequestSchema = z.strictObject({
  packages: z.array(packageSchema).min(1).max(limits.packagesPerFulfillmentMax),
});
export type PackRequest = z.infer<typeof packRequestSchema>;

/** `POST /fulfillments/{id}/ship`: the packed parcels handed to a carrier. */
export const shipRequestSchema = z.strictObject({ carrier: carrierSchema, trackingNumber: trackingNumberSchema });
export type ShipRequest = z.infer<typeof shipRequestSchema>;

/**
 * The hub's fulfillment-order API, for warehouses with no edge (3PL, dropshipper): the warehouse
 * answers the request, ships, and answers cancel requests over REST (Shopify's fulfillment-service
 * model). Strict: unknown fields are refused.
 */
export const fulfillmentOrderRejectSchema = z.strictObject({ reason: orderStatusReasonSchema });
export type FulfillmentOrderReject = z.infer<typeof fulfillmentOrderRejectSchema>;

/** A shipment of some (`lines`) or, by default, all of what is still to ship. */
export const fulfillmentOrderShipSchema = z.strictObject({
  carrier: carrierSchema,
  trackingNumber: trackingNumberSchema,
  lines: z
    .array(fulfillmentLineSchema)
    .min(1)
    .max(limits.orderLinesMax)
    .refine((lines) => new Set(lines.map((line) => line.sku)).size === lines.length, 'each SKU appears on one line')
    .optional(),
});
export type FulfillmentOrderShip = z.infer<typeof fulfillmentOrderShipSchema>;

export const fulfillmentOrderCancelRefuseSchema = z.strictObject({ reason: orderStatusReasonSchema });
export type FulfillmentOrderCancelRefuse = z.infer<typeof fulfillmentOrderCancelRefuseSchema>;

const factCommon = { fulfillmentId: fulfillmentIdSchema };

/** The facts an edge reports about the fulfillment orders it owns. */
export const fulfillmentFactSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...eventHeader,
    ...factCommon,
    type: z.literal('fulfillment_packed'),
    packages: packRequestSchema.shape.packages,
  }),
  z.strictObject({
    ...eventHeader,
    ...factCommon,
    type: z.literal('fulfillment_shipped'),
    shipmentId: z.uuid(),
    carrier: carrierSchema,
    trackingNumber: trackingNumberSchema,
    lines: z.array(fulfillmentLineSchema).min(1).max(limits.orderLinesMax),
  }),
  /** The cancel request accepted: nothing left the building; `lines` are the units no longer committed. */
  z.strictObject({
    ...eventHeader,
    ...factCommon,
    type: z.literal('fulfillment_canceled'),
    lines: releasedLinesSchema,
  }),
  /** The cancel request refused: the goods had already shipped (physical fact wins; docs/architecture.md, "Ownership"). */
  z.strictObject({
    ...eventHeader,
    ...factCommon,
    type: z.literal('fulfillment_cancel_refused'),
    reason: z.enum(['shipped']),
  }),
  /**
   * The answer to a release request (shortage re-routing): the units actually released, each at most
   * what was asked and what was not yet picked; zero means refused.
   */
  z.strictObject({
    ...eventHeader,
    ...factCommon,
    type: z.literal('fulfillment_released'),
    requestId: z.string().min(1).max(64),
    lines: releasedLinesSchema,
  }),
]);
export type FulfillmentFact = z.infer<typeof fulfillmentFactSchema>;
export type FulfillmentFactType = FulfillmentFact['type'];
export type FulfillmentFactBody = FulfillmentFact extends infer F
  ? F extends FulfillmentFact
    ? Omit<F, keyof typeof eventHeader>
    : never
  : never;
export const fulfillmentFactTypes = fulfillmentFactSchema.options.map(
  (option) => option.shape.type.value,
) as FulfillmentFactType[];
