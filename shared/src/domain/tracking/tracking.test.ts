import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TrackingEvent, carrierTrackingUrl, shipmentTracking, trackingStatuses } from './tracking.ts';

const at = (iso: string) => Date.parse(iso);
const event = (carrierEventId: string, status: TrackingEvent['status'], occurredAt: string, eta?: string) => ({
  carrierEventId,
  status,
  occurredAtMs: at(occurredAt),
  ...(eta ? { estimatedDeliveryAtMs: at(eta) } : {}),
});

describe('shipmentTracking', () => {
  it('reads in_transit before any carrier event', () => {
    expect(shipmentTracking([])).toEqual({
      status: 'in_transit',
      estimatedDeliveryAtMs: undefined,
      deliveredAtMs: undefined,
      events: [],
    });
  });

  it('takes the status of the latest event by time, and the latest estimate given', () => {
    const tracking = shipmentTracking([
      event('e3', 'out_for_delivery', '2026-12-03T08:00:00Z'),
      event('e1', 'pre_transit', '2026-12-01T08:00:00Z', '2026-12-05T18:00:00Z'),
      event('e2', 'in_transit', '2026-12-02T08:00:00Z', '2026-12-03T18:00:00Z'),
    ]);
    expect(tracking.status).toBe('out_for_delivery');
    expect(tracking.estimatedDeliveryAtMs).toBe(at('2026-12-03T18:00:00Z'));
    expect(tracking.events.map((e) => e.carrierEventId)).toEqual(['e1', 'e2', 'e3']);
  });

  it('keeps delivered final: a stray scan after delivery stays in the history, not in the status', () => {
    const tracking = shipmentTracking([
      event('e1', 'in_transit', '2026-12-02T08:00:00Z', '2026-12-03T18:00:00Z'),
      event('e2', 'delivered', '2026-12-03T10:00:00Z'),
      event('e3', 'in_transit', '2026-12-03T11:00:00Z'),
    ]);
    expect(tracking).toMatchObject({
      status: 'delivered',
      deliveredAtMs: at('2026-12-03T10:00:00Z'),
      estimatedDeliveryAtMs: undefined,
    });
    expect(tracking.events).toHaveLength(3);
  });

  it('gives the same answer whatever order the events arrive in (ties broken by carrierEventId)', () => {
    const statuses = fc.constantFrom(...trackingStatuses);
    const events = fc.uniqueArray(
      fc.record({
        carrierEventId: fc.string({ minLength: 1, maxLength: 6 }),
        status: statuses,
        occurredAtMs: fc.integer({ min: 0, max: 20 }),
      }),
      { selector: (e) => e.carrierEventId, maxLength: 12 },
    );
    fc.assert(
      fc.property(events, fc.integer(), (list, seed) => {
        const shuffled = [...list].sort(
          (a, b) => ((a.carrierEventId.charCodeAt(0) * seed) % 7) - ((b.carrierEventId.charCodeAt(0) * seed) % 7),
        );
        expect(shipmentTracking(shuffled)).toEqual(shipmentTracking(list));
      }),
    );
  });
});

describe('carrierTrackingUrl', () => {
  it('links the carriers it knows, escaping the number, and nothing for the others', () => {
    expect(carrierTrackingUrl('DHL', 'JD0146 000/1')).toBe(
      'https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=JD0146%20000%2F1',
    );
    expect(carrierTrackingUrl('Van Dijk Meubeltransport', 'X1')).toBeUndefined();
  });
});
