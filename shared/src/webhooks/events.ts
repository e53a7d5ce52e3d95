import { z } from 'zod';
import {
  carrierSchema,
  fulfillmentIdSchema,
  fulfillmentRequestedLineSchema,
  trackingNumberSchema,
} from '../domain/fulfillment/schemas.ts';
import { addressSchema } from '../domain/orders/schemas.ts';
import { orderStatuses } from '../domain/orders/transitions.ts';
import { exchangeStatuses } from '../domain/returns/exchanges.ts';
import { returnDispositions, returnReasons } from '../domain/returns/schemas.ts';
import { returnStatuses } from '../domain/returns/transitions.ts';
import { quantitySchema, skuSchema, warehouseIdSchema } from '../domain/stock/schemas.ts';
import * as limits from '../limits.ts';
import type { Role } from '../policy/policy.ts';

/**
 * The webhook event catalogue: what the hub pushes to partners (Standard Webhooks). Each type has
 * one payload schema (`data` of the body `{type, timestamp, data}`), the roles whose endpoints may
 * subscribe to it, and how an event is scoped to a non-admin endpoint:
 * - `warehouse`: the event names a warehouse; a 3PL endpoint gets it only for its own warehouses.
 * - `order`: the event names the order's API client; a storefront endpoint gets only its own.
 * - `endpoint`: addressed to one endpoint (a `ping` from `POST /webhooks/{id}/test`).
 * - `admin`: operations' events, for admin endpoints only.
 * Payloads carry every figure a receiver needs (no call back), and no customer data except where the
 * receiver needs it to do its job (the shipping address of a fulfillment order a 3PL must ship).
 * A payload's fields are never renamed once shipped; new fields are optional.
 */

const orderLineSchema = z.strictObject({ sku: skuSchema, quantity: quantitySchema });
const timestampSchema = z.iso.datetime();
const orderStatusSchema = z.enum(orderStatuses);

/** Every `order.*` event carries the order as it stands after the change. */
export const webhookOrderSchema = z.strictObject({
  id: z.string().min(1),
  number: z.string().min(1),
  status: orderStatusSchema,
  previousStatus: orderStatusSchema.nullable(),
  currency: z.string().length(3),
  total: z.int().min(0),
  lines: z.array(orderLineSchema),
  updatedAt: timestampSchema,
});
export type WebhookOrder = z.infer<typeof webhookOrderSchema>;

export const orderCanceledDataSchema = webhookOrderSchema.extend({ reason: z.string().nullable() });

export const orderShippedDataSchema = webhookOrderSchema.extend({
  shipments: z.array(
    z.strictObject({
      id: z.string().min(1),
      fulfillmentOrderId: fulfillmentIdSchema,
      warehouseId: warehouseIdSchema,
      carrier: carrierSchema,
      trackingNumber: trackingNumberSchema,
      shippedAt: timestampSchema,
    }),
  ),
});

/** A warehouse is asked to fulfil part of an order (payment, or a shortage re-routed here). */
export const fulfillmentOrderRequestedDataSchema = z.strictObject({
  id: fulfillmentIdSchema,
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  warehouseId: warehouseIdSchema,
  /** Each line with the buyer's configuration (fabric, width…) when the product is configurable. */
  lines: z.array(fulfillmentRequestedLineSchema).min(1),
  shippingAddress: addressSchema,
  /** `payment`, or `shortage_reroute` when another warehouse could not ship these units. */
  reason: z.enum(['payment', 'shortage_reroute']),
  requestedAt: timestampSchema,
});

/** The order was canceled after payment: the warehouse should not ship (it accepts or refuses). */
export const fulfillmentOrderCancelRequestedDataSchema = z.strictObject({
  id: fulfillmentIdSchema,
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  warehouseId: warehouseIdSchema,
  requestedAt: timestampSchema,
});

export const webhookShipmentSchema = z.strictObject({
  id: z.string().min(1),
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  fulfillmentOrderId: fulfillmentIdSchema,
  warehouseId: warehouseIdSchema,
  carrier: carrierSchema,
  trackingNumber: trackingNumberSchema,
  /** in_transit | delivered */
  status: z.string().min(1),
  lines: z.array(orderLineSchema),
  shippedAt: timestampSchema,
});

/** `available` at a warehouse fell below the SKU's safety stock there. */
export const inventoryLowDataSchema = z.strictObject({
  warehouseId: warehouseIdSchema,
  sku: skuSchema,
  available: z.int(),
  safetyStock: z.int().min(0),
  occurredAt: timestampSchema,
});

/**
 * When `inventory.low` fires: a write takes a partition's `available` from at least its safety stock
 * (or from nothing: a new partition) to below it. Once, at the crossing, not on every write below it;
 * never for a SKU without safety stock.
 */
export function fellBelowSafetyStock(
  availableBefore: number | undefined,
  availableAfter: number,
  safetyStock: number,
): boolean {
  return (
    safetyStock > 0 && availableAfter < safetyStock && (availableBefore === undefined || availableBefore >= safetyStock)
  );
}

/** The hub found a partition's committed units exceed what is on the shelf (docs/architecture.md, "Quantities": physical loss). */
export const inventoryShortageDataSchema = z.strictObject({
  id: z.string().min(1),
  warehouseId: warehouseIdSchema,
  sku: skuSchema,
  onHand: z.int(),
  /** What could ship: on hand less damaged and quality control. */
  sellable: z.int(),
  committed: z.int(),
  /** Committed units the shelf cannot cover. */
  shortfall: z.int(),
  /** Units asked back from the newest unpicked fulfillment orders (re-routed once released). */
  requested: z.int(),
  /** Units short that nobody could be asked for (every allocation picked or already asked). */
  unresolved: z.int(),
  releaseRequests: z.array(
    z.strictObject({
      fulfillmentOrderId: z.string().min(1),
      orderId: z.string().min(1),
      orderNumber: z.string().min(1),
      quantity: z.int().min(1),
    }),
  ),
  occurredAt: timestampSchema,
});

/** Every `return.*` event carries the return as it stands after the change. */
export const webhookReturnSchema = z.strictObject({
  id: z.string().min(1),
  number: z.string().min(1),
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  status: z.enum(returnStatuses),
  warehouseId: warehouseIdSchema,
  currency: z.string().length(3),
  lines: z.array(
    z.strictObject({
      sku: skuSchema,
      quantity: quantitySchema,
      reason: z.enum(returnReasons),
      /** What the customer paid per unit (minor units). */
      unitPrice: z.int().min(0),
      restocked: z.int().min(0),
      damaged: z.int().min(0),
      missing: z.int().min(0),
    }),
  ),
  /** The value of the units asked back, at the order's unit prices (minor units). */
  amount: z.int().min(0),
  updatedAt: timestampSchema,
});

/** The warehouse accounted for returned units: what a payment system needs to refund them. */
export const returnReceivedDataSchema = webhookReturnSchema.extend({
  /** What this receipt accounted for. */
  received: z.array(
    z.strictObject({
      sku: skuSchema,
      quantity: quantitySchema,
      disposition: z.enum(returnDispositions),
      unitPrice: z.int().min(0),
    }),
  ),
  /** The value of every unit that came back so far (restocked or damaged; missing ones are not). */
  receivedAmount: z.int().min(0),
});

/** The return's parcel is on its way back, with the carrier's tracking when it was given. */
export const returnInTransitDataSchema = webhookReturnSchema.extend({
  carrier: carrierSchema.nullable(),
  trackingNumber: trackingNumberSchema.nullable(),
});

/** The return was withdrawn before anything arrived (the customer, an agent, or a lapsed exchange). */
export const returnCanceledDataSchema = webhookReturnSchema.extend({ reason: z.string() });

/**
 * An exchange as it stands after the change: the return, the replacement order (held, then released
 * to fulfillment or canceled with its hold) and when the hub gives up waiting for the return.
 */
export const webhookExchangeSchema = z.strictObject({
  id: z.string().min(1),
  status: z.enum(exchangeStatuses),
  returnId: z.string().min(1),
  returnNumber: z.string().min(1),
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  replacementOrderId: z.string().min(1),
  replacementOrderNumber: z.string().min(1),
  /** True when the replacement ships before the return arrives. */
  advance: z.boolean(),
  lines: z.array(z.strictObject({ sku: skuSchema, quantity: quantitySchema })),
  dueAt: timestampSchema,
  note: z.string().nullable(),
  updatedAt: timestampSchema,
});

/** A refund the payment system made, recorded against the order. */
export const refundRecordedDataSchema = z.strictObject({
  id: z.string().min(1),
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  returnId: z.string().min(1).nullable(),
  amount: z.int().min(1),
  currency: z.string().length(3),
  reference: z.string().min(1),
  /** Every refund of the order so far, this one included, and what was paid: refunded ≤ paid. */
  refundedTotal: z.int().min(0),
  paid: z.int().min(0),
  recordedAt: timestampSchema,
});

export const pingDataSchema = z.strictObject({ endpointId: z.string().min(1), message: z.string() });

/** An endpoint stopped receiving: it answered 410 Gone, or every delivery failed for too long. */
export const endpointDisabledDataSchema = z.strictObject({
  endpointId: z.string().min(1),
  url: z.string(),
  reason: z.enum(['gone', 'failing']),
  failingSince: timestampSchema.nullable(),
  disabledAt: timestampSchema,
});

/** A delivery's retry schedule ran out without a success: a dead letter, replayable by its id. */
export const deliveryExhaustedDataSchema = z.strictObject({
  deliveryId: z.string().min(1),
  endpointId: z.string().min(1),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  attempts: z.int().min(1),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  exhaustedAt: timestampSchema,
});

/** `production.requested`: a paid made-to-order line became a request to its producing warehouse. */
export const productionRequestedDataSchema = z.strictObject({
  id: z.string().min(1),
  orderId: z.string().min(1),
  orderNumber: z.string().min(1),
  warehouseId: warehouseIdSchema,
  sku: skuSchema,
  quantity: quantitySchema,
  configuration: z.record(z.string(), z.union([z.string(), z.int()])).optional(),
  leadTimeDays: z.int().min(0),
  dueAt: timestampSchema,
  requestedAt: timestampSchema,
});

export type WebhookScope = 'warehouse' | 'order' | 'endpoint' | 'admin';

const orderEvent = <S extends z.ZodType>(data: S, description: string) =>
  ({ data, scope: 'order', roles: ['admin', 'storefront'], description }) as const;
const warehouseEvent = <S extends z.ZodType>(data: S, description: string) =>
  ({ data, scope: 'warehouse', roles: ['admin', '3pl'], description }) as const;

export const webhookEventCatalogue = {
  'order.created': orderEvent(webhookOrderSchema, 'An order was placed (pending payment).'),
  'order.paid': orderEvent(webhookOrderSchema, 'Payment was confirmed; fulfillment orders go to warehouses.'),
  'order.canceled': orderEvent(orderCanceledDataSchema, 'The order was canceled.'),
  'order.shipped': orderEvent(orderShippedDataSchema, 'Every unit of the order has shipped.'),
  'order.delivered': orderEvent(webhookOrderSchema, 'The order was delivered.'),
  'return.requested': orderEvent(
    webhookReturnSchema,
    'A return was asked for (an agent decides unless policy authorized it).',
  ),
  'return.authorized': orderEvent(webhookReturnSchema, 'A return was authorized: its warehouse expects the goods.'),
  'return.received': orderEvent(returnReceivedDataSchema, 'The warehouse received returned units: what to refund.'),
  'return.in_transit': orderEvent(returnInTransitDataSchema, "The return's parcel is on its way back."),
  'return.canceled': orderEvent(returnCanceledDataSchema, 'A return was withdrawn before anything arrived.'),
  'return.closed': orderEvent(webhookReturnSchema, 'Every authorized unit of the return is accounted for.'),
  'exchange.created': orderEvent(
    webhookExchangeSchema,
    'An exchange: a return and a replacement order whose units are held until the return arrives.',
  ),
  'exchange.released': orderEvent(
    webhookExchangeSchema,
    'The replacement went to fulfillment: the return arrived, or the exchange ships in advance.',
  ),
  'exchange.canceled': orderEvent(
    webhookExchangeSchema,
    'The exchange was canceled (window lapsed, return withdrawn): the replacement and its hold are released.',
  ),
  'refund.recorded': orderEvent(refundRecordedDataSchema, 'A refund was recorded against the order.'),
  'fulfillment_order.requested': warehouseEvent(
    fulfillmentOrderRequestedDataSchema,
    'A warehouse is asked to pick, pack and ship part of an order.',
  ),
  'fulfillment_order.cancel_requested': warehouseEvent(
    fulfillmentOrderCancelRequestedDataSchema,
    'A paid order was canceled: the warehouse is asked not to ship.',
  ),
  'production.requested': warehouseEvent(
    productionRequestedDataSchema,
    'A made-to-order line was paid for: its producing warehouse is asked to make the units.',
  ),
  'shipment.created': warehouseEvent(webhookShipmentSchema, 'A warehouse handed parcels to a carrier.'),
  'shipment.updated': warehouseEvent(webhookShipmentSchema, 'A shipment changed status (delivered).'),
  'inventory.low': warehouseEvent(inventoryLowDataSchema, "Available stock fell below the SKU's safety stock."),
  'inventory.shortage': warehouseEvent(
    inventoryShortageDataSchema,
    'Committed units exceed what the warehouse can ship; the hub asks for a release and re-routes.',
  ),
  ping: {
    data: pingDataSchema,
    scope: 'endpoint',
    roles: ['admin', '3pl', 'storefront'],
    description: 'A test event sent by POST /webhooks/{id}/test.',
  },
  'endpoint.disabled': {
    data: endpointDisabledDataSchema,
    scope: 'admin',
    roles: ['admin'],
    description: 'An endpoint was disabled (410 Gone, or failing for days).',
  },
  'delivery.exhausted': {
    data: deliveryExhaustedDataSchema,
    scope: 'admin',
    roles: ['admin'],
    description:
      "A delivery's retry schedule ran out without a success (a dead letter): replay it with POST /webhooks/{id}/deliveries/{deliveryId}/retry.",
  },
} as const satisfies Record<
  string,
  { data: z.ZodType; scope: WebhookScope; roles: readonly Role[]; description: string }
>;

export type WebhookEventType = keyof typeof webhookEventCatalogue;
export const webhookEventTypes = Object.keys(webhookEventCatalogue) as WebhookEventType[];
export type WebhookEventData<T extends WebhookEventType> = z.infer<(typeof webhookEventCatalogue)[T]['data']>;

export const webhookEventTypeSchema = z.enum(webhookEventTypes as [WebhookEventType, ...WebhookEventType[]]);

/** Whether endpoints of `role` may subscribe to `type` (scoping to their own objects comes on top). */
export function mayReceiveWebhookEvent(role: Role, type: WebhookEventType): boolean {
  return (webhookEventCatalogue[type].roles as readonly Role[]).includes(role);
}

/** The request body every delivery carries: `{type, timestamp, data}` (Standard Webhooks). */
export type WebhookBody<T extends WebhookEventType = WebhookEventType> = {
  type: T;
  timestamp: string;
  data: WebhookEventData<T>;
};

// ---------------------------------------------------------------------------------------------
// Endpoints: what a partner sends to register or change one.
// ---------------------------------------------------------------------------------------------

/** Strict: unknown fields are refused. */
const urlSchema = z
  .string()
  .trim()
  .min(1)
  .max(limits.webhookUrlLengthMax)
  .refine((text) => URL.canParse(text), 'must be an absolute URL');
const eventsSchema = z
  .array(webhookEventTypeSchema)
  .min(1)
  .max(limits.webhookEventTypesPerEndpointMax)
  .refine((events) => new Set(events).size === events.length, 'event types must not repeat');
const descriptionSchema = z.string().trim().max(limits.webhookDescriptionLengthMax);
/** Only events of these warehouses; omitted: every warehouse the client may see. */
const warehousesSchema = z
  .array(warehouseIdSchema)
  .min(1)
  .max(limits.inventoryWarehousesPerSkuMax)
  .refine((ids) => new Set(ids).size === ids.length, 'warehouses must not repeat');

export const webhookEndpointCreateSchema = z.strictObject({
  url: urlSchema,
  events: eventsSchema,
  description: descriptionSchema.optional(),
  warehouses: warehousesSchema.optional(),
});
export type WebhookEndpointCreate = z.infer<typeof webhookEndpointCreateSchema>;

export const webhookEndpointPatchSchema = z
  .strictObject({
    url: urlSchema.optional(),
    events: eventsSchema.optional(),
    description: descriptionSchema.nullable().optional(),
    warehouses: warehousesSchema.nullable().optional(),
    /** false re-enables an endpoint the hub disabled (its pending deliveries resume). */
    disabled: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');
export type WebhookEndpointPatch = z.infer<typeof webhookEndpointPatchSchema>;

export const webhookDeliveryStatuses = ['pending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];
