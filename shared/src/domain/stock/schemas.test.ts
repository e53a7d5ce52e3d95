import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fieldIssues } from '../../errors.ts';
import * as limits from '../../limits.ts';
import {
  adjustCommandSchema,
  countCommandSchema,
  damageCommandSchema,
  instoreSaleCommandSchema,
  moveCommandSchema,
  pickCommandSchema,
  receiveCommandSchema,
  returnRestockCommandSchema,
  serialsSchema,
  shipCommandSchema,
  skuSchema,
  quotaReturnCommandSchema,
  stockEventSchema,
  stockEventTypes,
  transferInCommandSchema,
  transferOutCommandSchema,
} from './schemas.ts';

/** The distinct paths fieldIssues reports for an input the schema refuses (fails the test if accepted). */
function refusedPaths(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return [...new Set(fieldIssues(result.error).map((issue) => issue.path))];
}

const header = {
  id: '0190a6e8-7c1d-7a3b-9f00-1234567890ab',
  warehouseId: 'berlin-1',
  hlc: '1720000000000-0000-edge-berlin',
  atMs: 1_720_000_000_000,
  actor: 'anna',
};

/** One valid command per scanner action, and the event type it becomes. */
const validCommands = [
  { type: 'receive', schema: receiveCommandSchema, body: { sku: 'SOFA-3S', quantity: 2, bin: 'A-01', lot: 'L1' } },
  { type: 'adjust', schema: adjustCommandSchema, body: { sku: 'SOFA-3S', delta: -1, reason: 'lost' } },
  { type: 'count', schema: countCommandSchema, body: { sku: 'SOFA-3S', countedQuantity: 0, bin: 'A-01' } },
  { type: 'damage', schema: damageCommandSchema, body: { sku: 'SOFA-3S', quantity: 1, serials: ['SN1'] } },
  { type: 'move', schema: moveCommandSchema, body: { sku: 'SOFA-3S', quantity: 1, fromBin: 'A-01', toBin: 'B-01' } },
  {
    type: 'transfer_out',
    schema: transferOutCommandSchema,
    body: { sku: 'SOFA-3S', quantity: 1, transferId: 'T-1', toWarehouseId: 'paris' },
  },
  {
    type: 'transfer_in',
    schema: transferInCommandSchema,
    body: { sku: 'SOFA-3S', quantity: 1, transferId: 'T-1', fromWarehouseId: 'paris' },
  },
  { type: 'pick', schema: pickCommandSchema, body: { sku: 'SOFA-3S', quantity: 1, fulfillmentId: 'F-1' } },
  { type: 'ship', schema: shipCommandSchema, body: { sku: 'SOFA-3S', quantity: 1, fulfillmentId: 'F-1' } },
  {
    type: 'return_restock',
    schema: returnRestockCommandSchema,
    body: { sku: 'SOFA-3S', quantity: 1, rma: 'RMA-1', condition: 'damaged' },
  },
  { type: 'instore_sale', schema: instoreSaleCommandSchema, body: { sku: 'SOFA-3S', quantity: 1, note: 'showroom' } },
] as const;

const quantityCommands = validCommands.filter(({ body }) => 'quantity' in body);

describe('stock command schemas', () => {
  it.each(validCommands)('a valid $type command parses to itself', ({ schema, body }) => {
    expect(schema.parse(body)).toEqual(body);
  });

  it.each(validCommands)('a $type command refuses an unknown field and fieldIssues names it', ({ schema, body }) => {
    const result = schema.safeParse({ ...body, warehouse: 'elsewhere' });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(fieldIssues(result.error)).toEqual([
      { path: 'warehouse', code: 'unrecognized_keys', message: expect.stringContaining('warehouse') },
    ]);
  });

  it.each(quantityCommands)(
    'a $type command refuses zero, negative, fractional and oversized quantities',
    ({ schema, body }) => {
      for (const quantity of [0, -1, 1.5, limits.quantityMax + 1, Number.NaN, '2']) {
        expect(refusedPaths(schema, { ...body, quantity })).toEqual(['quantity']);
      }
      expect(schema.safeParse({ ...body, quantity: limits.quantityMax }).success).toBe(true);
      expect(schema.safeParse({ ...body, quantity: 1 }).success).toBe(true);
    },
  );

  it.each(validCommands)(
    'a $type command refuses a SKU with characters outside the allowed set',
    ({ schema, body }) => {
      for (const sku of [
        '',
        'SOFA 3S',
        '-SOFA',
        '.SOFA',
        'SOFA#3',
        'SOFA/3',
        'SÖFA',
        'SOFA\n',
        'A'.repeat(limits.skuLengthMax + 1),
      ]) {
        expect(refusedPaths(schema, { ...body, sku })).toEqual(['sku']);
      }
    },
  );

  it('SKUs accept letters, digits and . _ - after a letter or digit, up to the length bound', () => {
    for (const sku of ['A', '7', 'SOFA-3S_boucle.sand.v2', 'A'.repeat(limits.skuLengthMax)]) {
      expect(skuSchema.safeParse(sku).success).toBe(true);
    }
  });

  it('serial lists refuse repeats, emptiness, non-printable serials and more than the per-event bound', () => {
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 2, serials: ['SN1', 'SN1'] })).toEqual(['serials']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, serials: [] })).toEqual(['serials']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 2, serials: ['SN1', 'SN 2'] })).toEqual([
      'serials.1',
    ]);
    const tooMany = Array.from({ length: limits.serialsPerEventMax + 1 }, (_, i) => `SN${i}`);
    expect(serialsSchema.safeParse(tooMany).success).toBe(false);
    expect(serialsSchema.safeParse(tooMany.slice(1)).success).toBe(true);
  });

  it('bins refuse spaces, slashes and leading punctuation; lots refuse non-printable characters', () => {
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, bin: 'A 01' })).toEqual(['bin']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, bin: 'A/01' })).toEqual(['bin']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, bin: '_A' })).toEqual(['bin']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, lot: 'L 1' })).toEqual(['lot']);
    expect(refusedPaths(receiveCommandSchema, { sku: 'A', quantity: 1, lot: '' })).toEqual(['lot']);
  });

  it('a move refuses the same bin as source and destination, naming toBin', () => {
    const issues = moveCommandSchema.safeParse({ sku: 'A', quantity: 1, fromBin: 'A-01', toBin: 'A-01' });
    expect(issues.success).toBe(false);
    if (issues.success) return;
    expect(fieldIssues(issues.error)).toEqual([
      { path: 'toBin', code: 'custom', message: 'fromBin and toBin must differ' },
    ]);
  });

  it('an adjustment refuses a zero delta, an unknown reason and a delta beyond the bound', () => {
    expect(refusedPaths(adjustCommandSchema, { sku: 'A', delta: 0, reason: 'lost' })).toEqual(['delta']);
    expect(refusedPaths(adjustCommandSchema, { sku: 'A', delta: 1, reason: 'gift' })).toEqual(['reason']);
    expect(refusedPaths(adjustCommandSchema, { sku: 'A', delta: -limits.quantityMax - 1, reason: 'lost' })).toEqual([
      'delta',
    ]);
    expect(adjustCommandSchema.safeParse({ sku: 'A', delta: -limits.quantityMax, reason: 'write_off' }).success).toBe(
      true,
    );
  });

  it('a count refuses a negative counted quantity and carries no lot or serials', () => {
    expect(refusedPaths(countCommandSchema, { sku: 'A', countedQuantity: -1 })).toEqual(['countedQuantity']);
    expect(refusedPaths(countCommandSchema, { sku: 'A', countedQuantity: 1, lot: 'L1' })).toEqual(['lot']);
    expect(countCommandSchema.safeParse({ sku: 'A', countedQuantity: 0 }).success).toBe(true);
  });

  it('a return needs a known condition and an RMA', () => {
    expect(refusedPaths(returnRestockCommandSchema, { sku: 'A', quantity: 1, rma: 'R', condition: 'used' })).toEqual([
      'condition',
    ]);
    expect(refusedPaths(returnRestockCommandSchema, { sku: 'A', quantity: 1, condition: 'sellable' })).toEqual(['rma']);
  });

  it('names every refused field of a body, each once', () => {
    expect(
      refusedPaths(transferOutCommandSchema, {
        sku: 'bad sku',
        quantity: 0,
        transferId: '',
        toWarehouseId: 'x y',
      }).sort(),
    ).toEqual(['quantity', 'sku', 'toWarehouseId', 'transferId']);
  });
});

describe('stock event schema', () => {
  it('knows exactly the fifteen event types', () => {
    expect([...stockEventTypes].sort()).toEqual(
      [
        'adjust',
        'count',
        'damage',
        'instore_sale',
        'move',
        'pick',
        'quota_grant',
        'quota_return',
        'receive',
        'reconcile',
        'return_restock',
        'ship',
        'transfer_in',
        'transfer_out',
        'unpick',
      ].sort(),
    );
  });

  it.each(validCommands)('a $type command with the header and type is a valid event', ({ type, body }) => {
    const event = { ...header, type, ...body, ...(type === 'count' ? { delta: -3 } : {}) };
    expect(stockEventSchema.parse(event)).toEqual(event);
  });

  it('quota events carry a quantity; a return may be 0 (the answer of an edge with nothing left)', () => {
    expect(stockEventSchema.safeParse({ ...header, type: 'quota_grant', sku: 'A', quantity: 3 }).success).toBe(true);
    expect(refusedPaths(stockEventSchema, { ...header, type: 'quota_grant', sku: 'A', quantity: 0 })).toEqual([
      'quantity',
    ]);
    expect(stockEventSchema.safeParse({ ...header, type: 'quota_return', sku: 'A', quantity: 0 }).success).toBe(true);
    expect(refusedPaths(stockEventSchema, { ...header, type: 'quota_return', sku: 'A', quantity: -1 })).toEqual([
      'quantity',
    ]);
    expect(quotaReturnCommandSchema.safeParse({ sku: 'A', quantity: 0 }).success).toBe(false);
  });

  it('refuses an unknown field on an event and names it', () => {
    expect(refusedPaths(stockEventSchema, { ...header, type: 'receive', sku: 'A', quantity: 1, onHand: 5 })).toEqual([
      'onHand',
    ]);
  });

  it('refuses an unknown event type, naming the type field', () => {
    expect(refusedPaths(stockEventSchema, { ...header, type: 'teleport', sku: 'A', quantity: 1 })).toEqual(['type']);
  });

  it('refuses an event without its header', () => {
    expect(refusedPaths(stockEventSchema, { type: 'receive', sku: 'A', quantity: 1 }).sort()).toEqual([
      'actor',
      'atMs',
      'hlc',
      'id',
      'warehouseId',
    ]);
  });

  it('refuses a count event without its delta', () => {
    expect(refusedPaths(stockEventSchema, { ...header, type: 'count', sku: 'A', countedQuantity: 2 })).toEqual([
      'delta',
    ]);
  });

  it('refuses a move event whose source and destination bin are the same, like the move command', () => {
    expect(
      refusedPaths(stockEventSchema, {
        ...header,
        type: 'move',
        sku: 'A',
        quantity: 1,
        fromBin: 'A-01',
        toBin: 'A-01',
      }),
    ).toEqual(['toBin']);
    expect(
      stockEventSchema.safeParse({ ...header, type: 'move', sku: 'A', quantity: 1, fromBin: 'A-01', toBin: 'A-02' })
        .success,
    ).toBe(true);
  });

  it('refuses a malformed event id and a negative time', () => {
    expect(
      refusedPaths(stockEventSchema, { ...header, id: 'not-a-uuid', type: 'quota_grant', sku: 'A', quantity: 1 }),
    ).toEqual(['id']);
    expect(refusedPaths(stockEventSchema, { ...header, atMs: -1, type: 'quota_grant', sku: 'A', quantity: 1 })).toEqual(
      ['atMs'],
    );
  });
});
