import { z } from 'zod';
import * as limits from '../../limits.ts';

/**
 * Carrier tracking (one vocabulary for every carrier: EasyPost's, which most aggregators map to).
 *
 * Invariants
 * 1. A shipment's status is the status of its latest event by `occurredAt` (ties broken by
 *    `carrierEventId`, so every replica computes the same), whatever order the events arrived in.
 *    Enforced by `shipmentTracking`, which folds the whole set; tested with shuffled arrivals.
 * 2. `delivered` is final: once any event says delivered, later events (a stray `in_transit` scan
 *    after delivery) are kept in the history but do not change the status. Enforced by
 *    `shipmentTracking`; tested.
 * 3. Each carrier event counts once: events are keyed by `carrierEventId` per shipment (the hub
 *    stores them with that key; a repeat is a no-op). Enforced by the hub's primary key; tested.
 */
export const trackingStatuses = [
  'pre_transit',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'available_for_pickup',
  'return_to_sender',
  'failure',
  'cancelled',
] as const;
export type TrackingStatus = (typeof trackingStatuses)[number];

/** What a new shipment reads before any carrier event: handed over, in the carrier's hands. */
export const initialShipmentStatus: TrackingStatus = 'in_transit';

const shortText = (max: number) => z.string().trim().min(1).max(max);

/** `POST /shipments/{id}/events`: one carrier scan. */
export const trackingEventInputSchema = z.strictObject({
  // An id, not text: the characters carriers' event ids use, none that means something to HTML, SQL or a shell.
  carrierEventId: shortText(limits.carrierEventIdLengthMax).regex(
    /^[A-Za-z0-9][A-Za-z0-9._:/#+=-]*$/,
    'letters, digits and . _ : / # + = -',
  ),
  status: z.enum(trackingStatuses),
  occurredAt: z.iso.datetime({ offset: true }),
  location: shortText(limits.trackingLocationLengthMax).optional(),
  estimatedDeliveryAt: z.iso.datetime({ offset: true }).optional(),
  description: shortText(limits.trackingDescriptionLengthMax).optional(),
});
export type TrackingEventInput = z.infer<typeof trackingEventInputSchema>;

export type TrackingEvent = {
  carrierEventId: string;
  status: TrackingStatus;
  occurredAtMs: number;
  location?: string | undefined;
  estimatedDeliveryAtMs?: number | undefined;
  description?: string | undefined;
};

export type ShipmentTracking = {
  status: TrackingStatus;
  /** The newest estimate any event gave (by event time); undefined once delivered or if none. */
  estimatedDeliveryAtMs: number | undefined;
  /** When the delivering event happened. */
  deliveredAtMs: number | undefined;
  /** The events in the order they happened. */
  events: TrackingEvent[];
};

const byOccurrence = (a: TrackingEvent, b: TrackingEvent) =>
  a.occurredAtMs - b.occurredAtMs ||
  (a.carrierEventId < b.carrierEventId ? -1 : a.carrierEventId > b.carrierEventId ? 1 : 0);

/** A shipment's status, estimate and timeline from the full set of its carrier events. */
export function shipmentTracking(events: readonly TrackingEvent[]): ShipmentTracking {
  const ordered = [...events].sort(byOccurrence);
  const delivery = ordered.find((event) => event.status === 'delivered');
  const latest = ordered.at(-1);
  let estimate: number | undefined;
  for (const event of ordered) if (event.estimatedDeliveryAtMs !== undefined) estimate = event.estimatedDeliveryAtMs;
  return {
    status: delivery ? 'delivered' : (latest?.status ?? initialShipmentStatus),
    estimatedDeliveryAtMs: delivery ? undefined : estimate,
    deliveredAtMs: delivery?.occurredAtMs,
    events: ordered,
  };
}

/** A link to the carrier's own tracking page, for the carriers a furniture brand ships with. */
export function carrierTrackingUrl(carrier: string, trackingNumber: string): string | undefined {
  const number = encodeURIComponent(trackingNumber);
  const links: Record<string, string> = {
    dhl: `https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=${number}`,
    ups: `https://www.ups.com/track?tracknum=${number}`,
    fedex: `https://www.fedex.com/fedextrack/?trknbr=${number}`,
    usps: `https://tools.usps.com/go/TrackConfirmAction?tLabels=${number}`,
    dpd: `https://tracking.dpd.de/status/en_US/parcel/${number}`,
    gls: `https://gls-group.com/track/${number}`,
    postnl: `https://jouw.postnl.nl/track-and-trace/${number}`,
  };
  return links[carrier.trim().toLowerCase()];
}
