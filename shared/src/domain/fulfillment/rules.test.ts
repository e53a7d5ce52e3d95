import { describe, expect, it } from 'vitest';
import * as limits from '../../limits.ts';
import {
  type EdgeFulfillment,
  type EdgeFulfillmentStatus,
  answerCancel,
  answerRelease,
  checkPack,
  checkPick,
  checkShip,
  edgeFulfillmentStatuses,
  planShipment,
} from './rules.ts';
import {
  fulfillmentFactSchema,
  fulfillmentOrderCancelRefuseSchema,
  fulfillmentOrderRejectSchema,
  fulfillmentOrderShipSchema,
  packRequestSchema,
  pickRequestSchema,
  shipRequestSchema,
} from './schemas.ts';

const order = (status: EdgeFulfillmentStatus, lines: Array<[string, number, number]>, picks = 0): EdgeFulfillment => ({
  status,
  picks,
  lines: lines.map(([sku, quantity, picked]) => ({ sku, quantity, picked })),
});

describe('checkPick', () => {
  it.each([
    ['a line with units left', order('open', [['SOFA', 2, 0]]), 'SOFA', 2, undefined],
    ['the rest of a partly picked line', order('picking', [['SOFA', 3, 1]]), 'SOFA', 2, undefined],
    ['more than is left on the line', order('picking', [['SOFA', 3, 2]]), 'SOFA', 2, 'over_pick'],
    ['a SKU not on the order', order('open', [['SOFA', 1, 0]]), 'CHAIR', 1, 'sku_not_in_fulfillment'],
    ['a line released to zero', order('open', [['SOFA', 0, 0]]), 'SOFA', 1, 'sku_not_in_fulfillment'],
    ['a packed order', order('packed', [['SOFA', 1, 1]]), 'SOFA', 1, 'fulfillment_closed'],
    ['a shipped order', order('shipped', [['SOFA', 1, 1]]), 'SOFA', 1, 'fulfillment_closed'],
    ['a canceled order', order('canceled', [['SOFA', 1, 0]]), 'SOFA', 1, 'fulfillment_closed'],
    [
      'past the pick budget',
      order('picking', [['SOFA', 5000, 1]], limits.picksPerFulfillmentMax),
      'SOFA',
      1,
      'too_many_picks',
    ],
  ])('%s', (_name, fulfillment, sku, quantity, reason) => {
    const result = checkPick(fulfillment, sku, quantity);
    if (reason === undefined) expect(result).toEqual({ ok: true });
    else expect(result).toMatchObject({ ok: false, reason });
  });
});

describe('checkPack and checkShip', () => {
  it('packs only a fully picked order, once', () => {
    expect(
      checkPack(
        order('picking', [
          ['SOFA', 2, 2],
          ['CHAIR', 1, 1],
        ]),
      ),
    ).toEqual({ ok: true });
    expect(checkPack(order('picking', [['SOFA', 2, 1]]))).toMatchObject({ ok: false, reason: 'not_fully_picked' });
    expect(checkPack(order('open', [['SOFA', 1, 0]]))).toMatchObject({ ok: false, reason: 'not_fully_picked' });
    expect(checkPack(order('packed', [['SOFA', 1, 1]]))).toMatchObject({ ok: false, reason: 'fulfillment_closed' });
    expect(checkPack(order('open', [['SOFA', 0, 0]]))).toMatchObject({ ok: false, reason: 'fulfillment_closed' });
  });

  it('ships only a packed order', () => {
    const expected: Record<EdgeFulfillmentStatus, string | undefined> = {
      open: 'not_packed',
      picking: 'not_packed',
      packed: undefined,
      shipped: 'fulfillment_closed',
      canceled: 'fulfillment_closed',
    };
    for (const status of edgeFulfillmentStatuses) {
      const result = checkShip(order(status, [['SOFA', 1, 1]]));
      expect(result.ok ? undefined : result.reason, status).toBe(expected[status]);
    }
  });
});

describe('answerCancel', () => {
  it('accepts before shipping, putting picked units back and releasing every line', () => {
    expect(
      answerCancel(
        order('picking', [
          ['SOFA', 2, 1],
          ['CHAIR', 1, 0],
        ]),
      ),
    ).toEqual({
      accept: true,
      unpick: [{ sku: 'SOFA', quantity: 1 }],
      released: [
        { sku: 'SOFA', quantity: 2 },
        { sku: 'CHAIR', quantity: 1 },
      ],
    });
    expect(answerCancel(order('packed', [['SOFA', 1, 1]]))).toMatchObject({
      accept: true,
      unpick: [{ sku: 'SOFA', quantity: 1 }],
    });
  });

  it('refuses once shipped (physical fact wins) and does nothing twice', () => {
    expect(answerCancel(order('shipped', [['SOFA', 1, 1]]))).toEqual({ accept: false, reason: 'shipped' });
    expect(answerCancel(order('canceled', [['SOFA', 1, 0]]))).toEqual({ accept: 'already' });
  });
});

describe('answerRelease', () => {
  it('releases at most what was asked and what is not picked', () => {
    const fulfillment = order('picking', [
      ['SOFA', 3, 1],
      ['CHAIR', 2, 0],
    ]);
    expect(
      answerRelease(fulfillment, [
        { sku: 'SOFA', quantity: 5 },
        { sku: 'CHAIR', quantity: 1 },
        { sku: 'BED', quantity: 1 },
      ]),
    ).toEqual([
      { sku: 'SOFA', quantity: 2 },
      { sku: 'CHAIR', quantity: 1 },
      { sku: 'BED', quantity: 0 },
    ]);
  });

  it('releases nothing once packed, shipped or canceled', () => {
    for (const status of ['packed', 'shipped', 'canceled'] as const) {
      expect(answerRelease(order(status, [['SOFA', 2, 0]]), [{ sku: 'SOFA', quantity: 2 }])).toEqual([
        { sku: 'SOFA', quantity: 0 },
      ]);
    }
  });
});

describe('planShipment (a 3PL reports what left)', () => {
  const owed = [
    { sku: 'SOFA', quantity: 3 },
    { sku: 'CHAIR', quantity: 2 },
  ];

  it('ships everything still to ship when no lines are given', () => {
    expect(planShipment(owed)).toEqual({ ok: true, lines: owed, complete: true });
  });

  it('ships part of it, and says whether anything is left', () => {
    expect(planShipment(owed, [{ sku: 'SOFA', quantity: 1 }])).toEqual({
      ok: true,
      lines: [{ sku: 'SOFA', quantity: 1 }],
      complete: false,
    });
    expect(
      planShipment(owed, [
        { sku: 'CHAIR', quantity: 2 },
        { sku: 'SOFA', quantity: 3 },
      ]),
    ).toMatchObject({ ok: true, complete: true });
  });

  it.each([
    ['more than is left of a line', [{ sku: 'SOFA', quantity: 4 }], 'over_ship'],
    ['a SKU not on the order', [{ sku: 'BED', quantity: 1 }], 'sku_not_in_fulfillment'],
  ])('refuses %s', (_name, lines, reason) => {
    expect(planShipment(owed, lines)).toMatchObject({ ok: false, reason });
  });

  it('refuses a shipment of nothing, and a SKU already all shipped', () => {
    expect(planShipment([{ sku: 'SOFA', quantity: 0 }])).toMatchObject({ ok: false, reason: 'nothing_to_ship' });
    expect(planShipment([{ sku: 'SOFA', quantity: 0 }], [{ sku: 'SOFA', quantity: 1 }])).toMatchObject({
      ok: false,
      reason: 'sku_not_in_fulfillment',
    });
  });
});

describe('fulfillment request and fact schemas', () => {
  it('take what scanners and packers send, defaulting a pick to one unit', () => {
    expect(pickRequestSchema.parse({ sku: 'SOFA-3S' })).toEqual({ sku: 'SOFA-3S', quantity: 1 });
    expect(
      packRequestSchema.safeParse({ packages: [{ weightGrams: 42_000, lengthMm: 2200, widthMm: 900, heightMm: 800 }] })
        .success,
    ).toBe(true);
    expect(shipRequestSchema.safeParse({ carrier: 'DHL Freight', trackingNumber: 'JD0146-00012345' }).success).toBe(
      true,
    );
  });

  it('refuse unknown fields, empty packings and absurd parcels', () => {
    expect(pickRequestSchema.safeParse({ sku: 'SOFA', quantity: 0 }).success).toBe(false);
    expect(pickRequestSchema.safeParse({ sku: 'SOFA', status: 'shipped' }).success).toBe(false);
    expect(packRequestSchema.safeParse({ packages: [] }).success).toBe(false);
    expect(
      packRequestSchema.safeParse({
        packages: [{ weightGrams: limits.packageWeightGramsMax + 1, lengthMm: 1, widthMm: 1, heightMm: 1 }],
      }).success,
    ).toBe(false);
    expect(shipRequestSchema.safeParse({ carrier: 'DHL', trackingNumber: 'has space' }).success).toBe(false);
  });

  it("take a 3PL's answers: a reason to reject or refuse, a shipment of some lines or all, nothing else", () => {
    const shipment = { carrier: 'ups', trackingNumber: '1Z999AA10123456784' };
    expect(fulfillmentOrderShipSchema.safeParse(shipment).success).toBe(true);
    expect(fulfillmentOrderShipSchema.safeParse({ ...shipment, lines: [{ sku: 'SOFA', quantity: 1 }] }).success).toBe(
      true,
    );
    expect(fulfillmentOrderShipSchema.safeParse({ ...shipment, lines: [] }).success).toBe(false);
    expect(
      fulfillmentOrderShipSchema.safeParse({
        ...shipment,
        lines: [
          { sku: 'SOFA', quantity: 1 },
          { sku: 'SOFA', quantity: 1 },
        ],
      }).success,
    ).toBe(false);
    expect(fulfillmentOrderShipSchema.safeParse({ ...shipment, status: 'shipped' }).success).toBe(false);
    expect(fulfillmentOrderRejectSchema.safeParse({ reason: 'no stock left' }).success).toBe(true);
    expect(fulfillmentOrderRejectSchema.safeParse({}).success).toBe(false);
    expect(
      fulfillmentOrderCancelRefuseSchema.safeParse({ reason: 'x'.repeat(limits.orderStatusReasonLengthMax + 1) })
        .success,
    ).toBe(false);
  });

  it('a fact names its fulfillment order and carries a header', () => {
    const header = {
      id: '0190a6e8-7c1d-7a3b-9f00-1234567890ab',
      warehouseId: 'berlin-1',
      hlc: 'h',
      atMs: 1,
      actor: 'anna',
    };
    expect(
      fulfillmentFactSchema.safeParse({
        ...header,
        type: 'fulfillment_cancel_refused',
        fulfillmentId: 'F1',
        reason: 'shipped',
      }).success,
    ).toBe(true);
    expect(
      fulfillmentFactSchema.safeParse({
        ...header,
        type: 'fulfillment_cancel_refused',
        fulfillmentId: 'F1',
        reason: 'lazy',
      }).success,
    ).toBe(false);
    expect(fulfillmentFactSchema.safeParse({ ...header, type: 'fulfillment_canceled', lines: [] }).success).toBe(false);
  });
});
