import { z } from 'zod';
import * as limits from '../../limits.ts';
import { partitionStateSchema } from './partition.ts';

/** Shared field schemas for stock commands and events. Strict: unknown fields are refused. */
export const skuSchema = z
  .string()
  .min(1)
  .max(limits.skuLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'SKU: letters, digits and . _ - only');
export const binSchema = z
  .string()
  .min(1)
  .max(limits.binLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'bin: letters, digits and . _ - only');
export const lotSchema = z
  .string()
  .min(1)
  .max(limits.lotLengthMax)
  .regex(/^[\x21-\x7e]+$/, 'lot: printable ASCII');
export const serialSchema = z
  .string()
  .min(1)
  .max(limits.serialLengthMax)
  .regex(/^[\x21-\x7e]+$/, 'serial: printable ASCII');
export const warehouseIdSchema = z
  .string()
  .min(1)
  .max(limits.warehouseIdLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'warehouse id: letters, digits, _ and - only');
export const quantitySchema = z.int().min(1).max(limits.quantityMax);
export const serialsSchema = z
  .array(serialSchema)
  .min(1)
  .max(limits.serialsPerEventMax)
  .refine((serials) => new Set(serials).size === serials.length, 'serials must not repeat');
export const referenceSchema = z.string().min(1).max(limits.referenceLengthMax);
export const noteSchema = z.string().max(limits.noteLengthMax);

/** The bin that units land in when a scan names none. */
export const DEFAULT_BIN = 'UNASSIGNED';

export const adjustReasons = ['found', 'lost', 'theft', 'correction', 'write_off', 'other'] as const;
export const returnConditions = ['sellable', 'damaged'] as const;

const common = {
  sku: skuSchema,
  reference: referenceSchema.optional(),
  note: noteSchema.optional(),
};
const placement = { bin: binSchema.optional(), lot: lotSchema.optional(), serials: serialsSchema.optional() };

/** A move names two different bins (the command and the event it is recorded as agree on this). */
const differentBins = (move: { fromBin: string; toBin: string }) => move.fromBin !== move.toBin;

/** What a scanner sends: one schema per action, each strict. */
export const receiveCommandSchema = z.strictObject({ ...common, ...placement, quantity: quantitySchema });
export const adjustCommandSchema = z.strictObject({
  ...common,
  ...placement,
  delta: z
    .int()
    .min(-limits.quantityMax)
    .max(limits.quantityMax)
    .refine((delta) => delta !== 0, 'delta must not be zero'),
  reason: z.enum(adjustReasons),
});
export const countCommandSchema = z.strictObject({
  ...common,
  bin: binSchema.optional(),
  countedQuantity: z.int().min(0).max(limits.partitionOnHandMax),
});
export const damageCommandSchema = z.strictObject({ ...common, ...placement, quantity: quantitySchema });
export const moveCommandSchema = z
  .strictObject({
    ...common,
    quantity: quantitySchema,
    fromBin: binSchema,
    toBin: binSchema,
    lot: lotSchema.optional(),
    serials: serialsSchema.optional(),
  })
  .refine(differentBins, { message: 'fromBin and toBin must differ', path: ['toBin'] });
export const transferOutCommandSchema = z.strictObject({
  ...common,
  ...placement,
  quantity: quantitySchema,
  transferId: referenceSchema,
  toWarehouseId: warehouseIdSchema,
});
export const transferInCommandSchema = z.strictObject({
  ...common,
  ...placement,
  quantity: quantitySchema,
  transferId: referenceSchema,
  fromWarehouseId: warehouseIdSchema,
});
export const pickCommandSchema = z.strictObject({
  ...common,
  ...placement,
  quantity: quantitySchema,
  fulfillmentId: referenceSchema,
});
export const shipCommandSchema = z.strictObject({
  ...common,
  quantity: quantitySchema,
  fulfillmentId: referenceSchema,
  serials: serialsSchema.optional(),
  lot: lotSchema.optional(),
});
export const returnRestockCommandSchema = z.strictObject({
  ...common,
  ...placement,
  quantity: quantitySchema,
  rma: referenceSchema,
  condition: z.enum(returnConditions),
});
export const instoreSaleCommandSchema = z.strictObject({
  ...common,
  ...placement,
  quantity: quantitySchema,
  saleId: referenceSchema.optional(),
});

/** A supervisor giving unused in-store selling rights back to the hub. */
export const quotaReturnCommandSchema = z.strictObject({ ...common, quantity: quantitySchema });

export type ReceiveCommand = z.infer<typeof receiveCommandSchema>;
export type AdjustCommand = z.infer<typeof adjustCommandSchema>;
export type CountCommand = z.infer<typeof countCommandSchema>;
export type DamageCommand = z.infer<typeof damageCommandSchema>;
export type MoveCommand = z.infer<typeof moveCommandSchema>;
export type TransferOutCommand = z.infer<typeof transferOutCommandSchema>;
export type TransferInCommand = z.infer<typeof transferInCommandSchema>;
export type PickCommand = z.infer<typeof pickCommandSchema>;
export type ShipCommand = z.infer<typeof shipCommandSchema>;
export type ReturnRestockCommand = z.infer<typeof returnRestockCommandSchema>;
export type InstoreSaleCommand = z.infer<typeof instoreSaleCommandSchema>;

/**
 * A stock event as stored in the ledger and sent upstream: a named domain event carrying deltas,
 * never absolute values. A count carries the delta the owner computed at count time, so every
 * replica folds it to the same state.
 */
export const eventHeader = {
  id: z.uuid(),
  warehouseId: warehouseIdSchema,
  hlc: z.string().min(1).max(96),
  atMs: z.int().min(0),
  actor: z.string().min(1).max(limits.usernameLengthMax),
};
export const stockEventSchema = z.discriminatedUnion('type', [
  receiveCommandSchema.extend({ ...eventHeader, type: z.literal('receive') }),
  adjustCommandSchema.extend({ ...eventHeader, type: z.literal('adjust') }),
  countCommandSchema.extend({
    ...eventHeader,
    type: z.literal('count'),
    delta: z.int().min(-limits.partitionOnHandMax).max(limits.partitionOnHandMax),
  }),
  damageCommandSchema.extend({ ...eventHeader, type: z.literal('damage') }),
  z
    .strictObject({
      ...common,
      ...eventHeader,
      type: z.literal('move'),
      quantity: quantitySchema,
      fromBin: binSchema,
      toBin: binSchema,
      lot: lotSchema.optional(),
      serials: serialsSchema.optional(),
    })
    .refine(differentBins, { message: 'fromBin and toBin must differ', path: ['toBin'] }),
  transferOutCommandSchema.extend({ ...eventHeader, type: z.literal('transfer_out') }),
  transferInCommandSchema.extend({ ...eventHeader, type: z.literal('transfer_in') }),
  pickCommandSchema.extend({ ...eventHeader, type: z.literal('pick') }),
  shipCommandSchema.extend({ ...eventHeader, type: z.literal('ship') }),
  /** Picked units put back on a shelf (a fulfillment order cancelled or released after picking). */
  z.strictObject({
    ...common,
    ...eventHeader,
    type: z.literal('unpick'),
    quantity: quantitySchema,
    bin: binSchema.optional(),
    fulfillmentId: referenceSchema,
  }),
  returnRestockCommandSchema.extend({ ...eventHeader, type: z.literal('return_restock') }),
  instoreSaleCommandSchema.extend({ ...eventHeader, type: z.literal('instore_sale') }),
  z.strictObject({ ...common, ...eventHeader, type: z.literal('quota_grant'), quantity: quantitySchema }),
  /** Rights given back; 0 is the edge's answer to a return request when it had none left to give. */
  z.strictObject({
    ...common,
    ...eventHeader,
    type: z.literal('quota_return'),
    quantity: z.int().min(0).max(limits.quantityMax),
  }),
  /**
   * The owner restating a partition whole, after the hub's checksum showed its replica drifted:
   * repair travels as an ordinary event, exactly once, so the replica still changes only by events.
   */
  z.strictObject({ ...common, ...eventHeader, type: z.literal('reconcile'), state: partitionStateSchema }),
]);
export type StockEvent = z.infer<typeof stockEventSchema>;
export type StockEventType = StockEvent['type'];
export const stockEventTypes = stockEventSchema.options.map((option) => option.shape.type.value) as StockEventType[];

/** The body each type carries, without the header the recording node adds. */
export type StockEventBody = StockEvent extends infer E
  ? E extends StockEvent
    ? Omit<E, keyof typeof eventHeader>
    : never
  : never;
