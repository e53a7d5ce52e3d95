import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { productSchema } from '../domain/catalog/products.ts';
import { fulfillmentLineSchema } from '../domain/fulfillment/schemas.ts';
import * as limits from '../limits.ts';
import {
  changeForPeer,
  decodeDownstream,
  decodeUpstream,
  downstreamMessageSchema,
  fulfillmentRequestedPayloadSchema,
  knownDownstreamChangeSchema,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_MIN,
  upstreamMessageSchema,
} from './index.ts';

/**
 * Pins the wire format. If this fails you changed a message: bump PROTOCOL_VERSION (with a history
 * line in version.ts), keep new fields optional, then update the pinned hash and version together.
 */
const pinned = { version: 7, hash: 'c70576a440311ee2b77a41901afdb248b0b7e6cd8e2c71b5ab22b3f464463242' };

/** Every frame in each direction, the payload schema of each downstream change kind included. */
function schemaDocument(): string {
  return JSON.stringify({
    upstream: z.toJSONSchema(upstreamMessageSchema, { unrepresentable: 'any' }),
    downstream: z.toJSONSchema(downstreamMessageSchema, { unrepresentable: 'any' }),
  });
}

function schemaHash(): string {
  return createHash('sha256').update(schemaDocument()).digest('hex');
}

const event = {
  id: '01a20801-d2b8-7013-bcc7-d483033a94ba',
  warehouseId: 'W1',
  hlc: '1795430666936-0000-edge',
  atMs: 1795430666936,
  actor: 'lead',
  type: 'receive',
  sku: 'SOFA-1',
  quantity: 3,
};
const hello = {
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  warehouseId: 'W1',
  edgeId: '4324181b-6492-4e8d-9cb2-d994c810dd59',
  epoch: 1,
  lastSeq: 10,
  cursors: { catalog: 4, 'warehouse:W1': 0 },
};

describe('protocol schemas', () => {
  it('match the pinned hash for this protocol version', () => {
    expect({ version: PROTOCOL_VERSION, hash: schemaHash() }).toEqual(pinned);
    expect(PROTOCOL_VERSION_MIN).toBeLessThanOrEqual(PROTOCOL_VERSION);
  });

  it('pin the payload schema of every downstream change kind', () => {
    const document = schemaDocument();
    for (const option of knownDownstreamChangeSchema.options) {
      const payload = z.toJSONSchema(option.shape.payload, { unrepresentable: 'any' });
      expect(document).toContain(`"const":"${option.shape.kind.value}"`);
      expect(document).toContain(JSON.stringify(payload.properties));
    }
  });
});

describe('decoding frames', () => {
  it('accepts a valid hello and push', () => {
    expect(decodeUpstream(JSON.stringify(hello))).toMatchObject({ ok: true, message: { type: 'hello', lastSeq: 10 } });
    const push = {
      type: 'push',
      events: [
        { seq: 11, event },
        { seq: 12, event: { ...event, id: '01a20801-d2b8-7013-bcc7-d483033a94bb' } },
      ],
    };
    expect(decodeUpstream(JSON.stringify(push)).ok).toBe(true);
  });

  it('refuses frames over the size bound before parsing them', () => {
    const result = decodeUpstream(`"${'x'.repeat(limits.syncFrameBytesMax)}"`);
    expect(result).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('refuses broken JSON, unknown types and unknown fields', () => {
    expect(decodeUpstream('{"type":')).toMatchObject({ ok: false, reason: 'not_json' });
    expect(decodeUpstream(JSON.stringify({ type: 'shutdown' }))).toMatchObject({ ok: false, reason: 'invalid' });
    expect(decodeUpstream(JSON.stringify({ ...hello, admin: true }))).toMatchObject({ ok: false, reason: 'invalid' });
    expect(decodeDownstream(JSON.stringify(hello))).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('refuses a push with a gap inside it, an empty one and one over the batch bound', () => {
    const gap = {
      type: 'push',
      events: [
        { seq: 1, event },
        { seq: 3, event },
      ],
    };
    expect(decodeUpstream(JSON.stringify(gap))).toMatchObject({ ok: false, reason: 'invalid' });
    expect(decodeUpstream(JSON.stringify({ type: 'push', events: [] }))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    const tooMany = {
      type: 'push',
      events: Array.from({ length: limits.pushBatchEventsMax + 1 }, (_, i) => ({ seq: i + 1, event })),
    };
    expect(decodeUpstream(JSON.stringify(tooMany))).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('checks each downstream change against the schema of its kind, and carries kinds it does not know', () => {
    const grant = { seq: 1, kind: 'quota.granted', payload: { grantId: 'g-1', sku: 'SOFA-1', quantity: 2 } };
    const frame = (change: unknown) => JSON.stringify({ type: 'changes', channel: 'warehouse:W1', changes: [change] });
    expect(decodeDownstream(frame(grant))).toMatchObject({ ok: true, message: { changes: [grant] } });
    expect(decodeDownstream(frame({ ...grant, payload: { ...grant.payload, quantity: 'two' } }))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^changes\.0\.payload\.quantity: /),
    });
    expect(decodeDownstream(frame({ ...grant, payload: { ...grant.payload, extra: 1 } }))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^changes\.0\.payload\.extra: /),
    });
    const future = { seq: 1, kind: 'future.thing', payload: { anything: true } };
    expect(decodeDownstream(frame(future))).toMatchObject({ ok: true, message: { changes: [future] } });
    expect(decodeDownstream(frame({ ...future, kind: 'Not A Kind' })).ok).toBe(false);
  });

  it('refuses a channel name that is neither catalog nor a warehouse channel', () => {
    const ack = { type: 'changes_ack', channel: 'orders', seq: 3 };
    expect(decodeUpstream(JSON.stringify(ack))).toMatchObject({ ok: false, reason: 'invalid' });
    expect(decodeUpstream(JSON.stringify({ ...ack, channel: 'warehouse:W1' })).ok).toBe(true);
  });
});

describe('changes for an older peer', () => {
  // The payloads as a version 5 edge decodes them: strict, without the fields version 6 added.
  const v5Product = productSchema.omit({ configurableOptions: true });
  const v5Fulfillment = fulfillmentRequestedPayloadSchema.extend({ lines: z.array(fulfillmentLineSchema).min(1) });
  const product = {
    id: 'p1',
    name: 'Oslo sofa',
    category: 'sofa',
    basePrice: 129900,
    currency: 'EUR',
    configurableOptions: [{ name: 'fabric', type: 'choice', choices: [{ value: 'boucle', priceDelta: 15000 }] }],
    variants: [{ sku: 'SOFA-OSLO', options: {} }],
    archived: false,
    version: 1,
    createdAt: 1,
    updatedAt: 1,
  };
  const fulfillment = {
    fulfillmentId: 'f1',
    orderId: 'o1',
    orderNumber: 'DT-000001',
    lines: [{ sku: 'SOFA-OSLO', quantity: 1, configuration: { fabric: 'boucle', widthCm: 240 } }],
    shipTo: { name: 'C', address: { line1: '1 Main', city: 'Oslo', postalCode: '0150', country: 'NO' } },
  };

  it('leave out what version 6 added, so a version 5 edge decodes them', () => {
    expect(v5Product.safeParse(product).success).toBe(false);
    expect(v5Fulfillment.safeParse(fulfillment).success).toBe(false);
    const oldProduct = changeForPeer({ seq: 1, kind: 'product.upserted', payload: product }, 5);
    const oldFulfillment = changeForPeer({ seq: 2, kind: 'fulfillment.requested', payload: fulfillment }, 5);
    expect(v5Product.parse(oldProduct.payload)).not.toHaveProperty('configurableOptions');
    expect(v5Fulfillment.parse(oldFulfillment.payload).lines).toEqual([{ sku: 'SOFA-OSLO', quantity: 1 }]);
  });

  it('leave out the variant supply fields version 7 added, so a version 6 edge decodes products', () => {
    const v6Variant = z.strictObject({
      sku: z.string(),
      gtin: z.string().optional(),
      options: z.record(z.string(), z.string()),
      price: z.int().optional(),
    });
    const v6Product = productSchema.extend({ variants: z.array(v6Variant) });
    const supplied = {
      ...product,
      variants: [
        { sku: 'SOFA-OSLO', options: {}, fulfillment: 'made_to_order', leadTimeDays: 21, productionWarehouseId: 'W1' },
        { sku: 'CHAIR-OSLO', options: {}, preorderCap: 10 },
      ],
    };
    expect(productSchema.safeParse(supplied).success).toBe(true);
    expect(v6Product.safeParse(supplied).success).toBe(false);
    const old = changeForPeer({ seq: 1, kind: 'product.upserted', payload: supplied }, 6);
    expect(v6Product.parse(old.payload).variants).toEqual([
      { sku: 'SOFA-OSLO', options: {} },
      { sku: 'CHAIR-OSLO', options: {} },
    ]);
    expect(old.payload).toHaveProperty('configurableOptions');
    const older = changeForPeer({ seq: 1, kind: 'product.upserted', payload: supplied }, 5);
    expect(v5Product.extend({ variants: z.array(v6Variant) }).parse(older.payload)).not.toHaveProperty(
      'configurableOptions',
    );
  });

  it('send a current peer every field', () => {
    const change = { seq: 2, kind: 'fulfillment.requested', payload: fulfillment };
    expect(changeForPeer(change, PROTOCOL_VERSION)).toBe(change);
    expect(knownDownstreamChangeSchema.parse(change)).toEqual(change);
  });
});
