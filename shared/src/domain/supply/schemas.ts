import { z } from 'zod';
import * as limits from '../../limits.ts';
import { binSchema, noteSchema, quantitySchema, skuSchema, warehouseIdSchema } from '../stock/schemas.ts';

/**
 * Supply the hub promises against before it is on a shelf (docs/catalog.md, "Pre-orders and
 * made-to-order"): purchase orders raise a partition's hub-owned `incoming`; production requests
 * are what a made-to-order line asks of its producing warehouse. Both are received at that
 * warehouse's edge as ordinary `receive` stock events whose `reference` names them
 * (`supplyReference`), so the upstream stream keeps its shape.
 */

export const purchaseOrderStatuses = ['open', 'received', 'canceled'] as const;
export type PurchaseOrderStatus = (typeof purchaseOrderStatuses)[number];

export const productionStatuses = ['requested', 'completed', 'canceled'] as const;
export type ProductionStatus = (typeof productionStatuses)[number];

export const supplierSchema = z.string().trim().min(1).max(200);

export const purchaseOrderCreateSchema = z.strictObject({
  warehouseId: warehouseIdSchema,
  supplier: supplierSchema.optional(),
  /** When the goods are expected at the warehouse (ISO 8601): the ship date pre-orders against them show. */
  expectedAt: z.iso.datetime({ offset: true }),
  lines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema }))
    .min(1)
    .max(limits.orderLinesMax)
    .refine((lines) => new Set(lines.map((line) => line.sku)).size === lines.length, 'a SKU appears on one line'),
});
export type PurchaseOrderCreate = z.infer<typeof purchaseOrderCreateSchema>;

const recordIdSchema = z.string().min(1).max(64);

export type SupplyKind = 'purchase_order' | 'production';
const prefixes: Record<SupplyKind, string> = { purchase_order: 'po:', production: 'production:' };

/** The `reference` of a receive made against a purchase order or a production request. */
export function supplyReference(kind: SupplyKind, id: string): string {
  return `${prefixes[kind]}${id}`;
}

/** What a receive's reference names, if it names a purchase order or a production request. */
export function parseSupplyReference(reference: string | undefined): { kind: SupplyKind; id: string } | undefined {
  if (reference === undefined) return undefined;
  for (const kind of ['purchase_order', 'production'] as const) {
    const prefix = prefixes[kind];
    if (reference.startsWith(prefix) && reference.length > prefix.length)
      return { kind, id: reference.slice(prefix.length) };
  }
  return undefined;
}

/** What a staff member sends to receive against a purchase order or a production request at the edge. */
export const supplyReceiveCommandSchema = z.strictObject({
  sku: skuSchema,
  quantity: quantitySchema,
  bin: binSchema.optional(),
  note: noteSchema.optional(),
});
export type SupplyReceiveCommand = z.infer<typeof supplyReceiveCommandSchema>;

/** `purchase_order.opened` (`warehouse:<id>`): goods the warehouse should expect, to receive against. */
export const purchaseOrderOpenedPayloadSchema = z.strictObject({
  purchaseOrderId: recordIdSchema,
  supplier: supplierSchema.nullable(),
  expectedAt: z.int().min(0),
  lines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema }))
    .min(1)
    .max(limits.orderLinesMax),
});

/** `purchase_order.canceled` (`warehouse:<id>`): the warehouse should no longer expect it. */
export const purchaseOrderCanceledPayloadSchema = z.strictObject({ purchaseOrderId: recordIdSchema });

/** `production.requested` (`warehouse:<id>`): units to make for one order line, received when finished. */
export const productionRequestedPayloadSchema = z.strictObject({
  productionId: recordIdSchema,
  orderId: recordIdSchema,
  orderNumber: z.string().min(1).max(32),
  sku: skuSchema,
  quantity: quantitySchema,
  configuration: z.record(z.string(), z.union([z.string(), z.int()])).optional(),
  dueAt: z.int().min(0),
});

/** `production.canceled` (`warehouse:<id>`): the order was canceled before the units were made. */
export const productionCanceledPayloadSchema = z.strictObject({ productionId: recordIdSchema });

/**
 * When the `position`-th unit promised against a partition's incoming arrives: the expected date of
 * the open purchase-order line whose remaining units cover it, first expected first (pure; the hub
 * passes the partition's open lines). Undefined when the lines do not reach that far.
 */
export function incomingArrivalAt(
  lines: ReadonlyArray<{ expectedAt: number; remaining: number }>,
  position: number,
): number | undefined {
  let covered = 0;
  for (const line of [...lines].sort((a, b) => a.expectedAt - b.expectedAt)) {
    covered += line.remaining;
    if (covered >= position) return line.expectedAt;
  }
  return undefined;
}

export const dayMs = 86_400_000;
