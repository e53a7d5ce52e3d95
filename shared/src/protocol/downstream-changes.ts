import { z } from 'zod';
import { productSchema } from '../domain/catalog/products.ts';
import { warehouseCreateSchema } from '../domain/catalog/warehouses.ts';
import {
  fulfillmentIdSchema,
  fulfillmentLineSchema,
  fulfillmentRequestedLineSchema,
} from '../domain/fulfillment/schemas.ts';
import { addressSchema, customerSchema } from '../domain/orders/schemas.ts';
import { returnIdSchema, returnLineSchema } from '../domain/returns/schemas.ts';
import { quantitySchema, skuSchema } from '../domain/stock/schemas.ts';
import {
  productionCanceledPayloadSchema,
  productionRequestedPayloadSchema,
  purchaseOrderCanceledPayloadSchema,
  purchaseOrderOpenedPayloadSchema,
} from '../domain/supply/schemas.ts';
import * as limits from '../limits.ts';
import { roles } from '../policy/policy.ts';
import { upstreamSeqSchema } from './common.ts';

/**
 * What the hub's downstream channels carry (docs/architecture.md, "Sync protocol"): one named change per log entry, each kind
 * with its payload schema. The hub checks each change against it right before appending it and
 * right after reading it back; the edge's decoder checks it again before the edge applies it.
 */

/** Ids the hub mints (`newId()`) for the records a change names. */
const recordIdSchema = z.string().min(1).max(64);

/** `warehouse.upserted` (`warehouse:<id>`): the warehouse's configuration as the hub holds it. */
export const warehouseUpsertedPayloadSchema = warehouseCreateSchema.extend({
  hasEdge: z.boolean(),
  edgeEpoch: z.int().min(0),
  createdAt: z.int().min(0),
});

/**
 * `staff.upserted`, `staff.disabled` (`warehouse:<id>`): one person of the warehouse's roster, with
 * the password hash, so people sign in at the edge while its link is down (docs/architecture.md, "Ownership").
 */
export const staffRosterPayloadSchema = z.strictObject({
  id: recordIdSchema,
  username: z.string().min(1).max(limits.usernameLengthMax),
  role: z.enum(roles),
  passwordHash: z.string().startsWith('scrypt$').max(512),
  disabled: z.boolean(),
});

/** `fulfillment.requested` (`warehouse:<id>`): a fulfillment order the warehouse's edge now owns. */
export const fulfillmentRequestedPayloadSchema = z.strictObject({
  fulfillmentId: fulfillmentIdSchema,
  orderId: recordIdSchema,
  orderNumber: z.string().min(1).max(32),
  lines: z.array(fulfillmentRequestedLineSchema).min(1).max(limits.orderLinesMax),
  shipTo: z.strictObject({ name: customerSchema.shape.name, address: addressSchema }),
});

/** `fulfillment.cancel_requested`: the order was canceled after payment; the edge accepts or refuses. */
export const fulfillmentCancelRequestedPayloadSchema = z.strictObject({
  fulfillmentId: fulfillmentIdSchema,
  orderId: recordIdSchema,
  reason: z.string().max(limits.orderStatusReasonLengthMax).nullable(),
});

/** `fulfillment.release_requested`: a shortage elsewhere asks the edge to give committed units back. */
export const fulfillmentReleaseRequestedPayloadSchema = z.strictObject({
  fulfillmentId: fulfillmentIdSchema,
  requestId: recordIdSchema,
  lines: z.array(fulfillmentLineSchema).min(1).max(limits.orderLinesMax),
});

/** `quota.granted`: in-store selling rights the hub already took out of online availability. */
export const quotaGrantedPayloadSchema = z.strictObject({
  grantId: recordIdSchema,
  sku: skuSchema,
  quantity: quantitySchema,
});

/** `quota.return_requested`: the hub asks for up to `quantity` rights back. */
export const quotaReturnRequestedPayloadSchema = z.strictObject({
  requestId: recordIdSchema,
  sku: skuSchema,
  quantity: quantitySchema,
});

/**
 * `return.authorized` (`warehouse:<id>`): a return the warehouse should expect; its edge receives it
 * (each unit restocked, damaged or missing) and reports `return_received` upstream.
 */
export const returnAuthorizedPayloadSchema = z.strictObject({
  returnId: returnIdSchema,
  number: z.string().min(1).max(64),
  orderId: recordIdSchema,
  orderNumber: z.string().min(1).max(32),
  lines: z.array(returnLineSchema).min(1).max(limits.orderLinesMax),
  note: z.string().max(limits.noteLengthMax).nullable(),
});

/** `return.canceled` (`warehouse:<id>`): the warehouse should no longer expect the return. */
export const returnCanceledPayloadSchema = z.strictObject({ returnId: returnIdSchema });

const change = <const Kind extends string, Payload extends z.ZodType>(kind: Kind, payload: Payload) =>
  z.strictObject({ seq: upstreamSeqSchema, kind: z.literal(kind), payload });

/** Every change kind this version knows, discriminated by `kind`. */
export const knownDownstreamChangeSchema = z.discriminatedUnion('kind', [
  change('product.upserted', productSchema),
  change('product.archived', productSchema),
  change('warehouse.upserted', warehouseUpsertedPayloadSchema),
  change('staff.upserted', staffRosterPayloadSchema),
  change('staff.disabled', staffRosterPayloadSchema),
  change('fulfillment.requested', fulfillmentRequestedPayloadSchema),
  change('fulfillment.cancel_requested', fulfillmentCancelRequestedPayloadSchema),
  change('fulfillment.release_requested', fulfillmentReleaseRequestedPayloadSchema),
  change('quota.granted', quotaGrantedPayloadSchema),
  change('quota.return_requested', quotaReturnRequestedPayloadSchema),
  change('return.authorized', returnAuthorizedPayloadSchema),
  change('return.canceled', returnCanceledPayloadSchema),
  change('purchase_order.opened', purchaseOrderOpenedPayloadSchema),
  change('purchase_order.canceled', purchaseOrderCanceledPayloadSchema),
  change('production.requested', productionRequestedPayloadSchema),
  change('production.canceled', productionCanceledPayloadSchema),
]);
export type KnownDownstreamChange = z.infer<typeof knownDownstreamChangeSchema>;
export type DownstreamChangeKind = KnownDownstreamChange['kind'];
export type DownstreamPayload<Kind extends DownstreamChangeKind> = Extract<
  KnownDownstreamChange,
  { kind: Kind }
>['payload'];

const knownKinds: ReadonlySet<string> = new Set(
  knownDownstreamChangeSchema.options.map((option) => option.shape.kind.value),
);

/**
 * A kind a newer hub added: carried so its seq still counts, and skipped by this edge. A kind this
 * version knows never takes this branch, so its payload is always checked.
 */
const otherDownstreamChangeSchema = z.strictObject({
  seq: upstreamSeqSchema,
  kind: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/)
    .refine((kind) => !knownKinds.has(kind), { message: 'a known kind must carry its own payload', abort: true }),
  payload: z.unknown(),
});

/** One entry of a `changes` frame. */
export const downstreamChangeSchema = z.union([knownDownstreamChangeSchema, otherDownstreamChangeSchema]);
export type DownstreamChange = z.infer<typeof downstreamChangeSchema>;

/** True for the kinds this version applies; a decoded change of such a kind carries a checked payload. */
export function isKnownDownstreamChange(change: DownstreamChange): change is KnownDownstreamChange {
  return knownKinds.has(change.kind);
}

/**
 * A change as a peer speaking `protocol` can decode it: fields added after that version are left
 * out (a version 5 edge's strict decoder refuses a field it does not know). Pure; the hub applies it
 * to each change it sends.
 */
export function changeForPeer<Change extends { kind: string; payload: unknown }>(
  change: Change,
  protocol: number,
): Change {
  if (protocol >= 7) return change;
  if (change.kind === 'product.upserted' || change.kind === 'product.archived') {
    // Version 7 added the variants' supply fields (fulfillment, lead time, pre-order cap).
    const product = change.payload as { configurableOptions?: unknown; variants: Array<Record<string, unknown>> };
    const variants = product.variants.map(
      ({ fulfillment: _f, leadTimeDays: _l, productionWarehouseId: _w, preorderCap: _c, ...variant }) => variant,
    );
    if (protocol >= 6) return { ...change, payload: { ...product, variants } };
    const { configurableOptions: _options, ...payload } = product;
    return { ...change, payload: { ...payload, variants } };
  }
  if (protocol >= 6) return change;
  if (change.kind === 'fulfillment.requested') {
    const payload = change.payload as { lines: Array<{ configuration?: unknown }> };
    return {
      ...change,
      payload: { ...payload, lines: payload.lines.map(({ configuration: _configuration, ...line }) => line) },
    };
  }
  return change;
}
