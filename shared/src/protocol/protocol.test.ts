import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as limits from '../limits.ts';
import {
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_MIN,
  decodeDownstream,
  decodeUpstream,
  downstreamMessageSchema,
  knownDownstreamChangeSchema,
  upstreamMessageSchema,
} from './index.ts';

/**
 * Pins the wire format. If this fails you changed a message: bump PROTOCOL_VERSION (with a history
 * line in version.ts), keep new fields optional, then update the pinned hash and version together.
 */
const pinned = { version: 5, hash: '279289d45f293be2b3d2e02008588b710406453c5b828ab349771c0b6389ae82' };

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
