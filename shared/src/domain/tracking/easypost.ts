import { z } from 'zod';
import * as limits from '../../limits.ts';
import { type TrackingEventInput, type TrackingStatus, trackingStatuses } from './tracking.ts';

/**
 * EasyPost's `tracker.updated` event (the aggregator most carriers reach through), as far as
 * Dovetail reads it: the tracker's code and carrier, its estimate, and its scans. Unknown fields
 * are ignored (EasyPost adds fields without notice); the ones read are checked.
 */
const trackingDetailSchema = z.object({
  status: z.string().max(40),
  datetime: z.iso.datetime({ offset: true }),
  message: z.string().max(limits.trackingDescriptionLengthMax).nullish(),
  tracking_location: z
    .object({
      city: z.string().max(80).nullish(),
      state: z.string().max(80).nullish(),
      country: z.string().max(80).nullish(),
    })
    .nullish(),
});

export const easypostEventSchema = z.object({
  id: z.string().min(1).max(128),
  description: z.string().max(80),
  result: z.object({
    id: z.string().min(1).max(128),
    tracking_code: z.string().min(1).max(limits.trackingNumberLengthMax),
    carrier: z.string().max(limits.carrierLengthMax).nullish(),
    est_delivery_date: z.iso.datetime({ offset: true }).nullish(),
    tracking_details: z.array(trackingDetailSchema).max(limits.trackingEventsPerShipmentMax).default([]),
  }),
});
export type EasypostEvent = z.infer<typeof easypostEventSchema>;

const known = new Set<string>(trackingStatuses);

/**
 * The scans of a tracker as Dovetail tracking events. EasyPost resends the whole history on every
 * update, so each scan's id is derived from what identifies it (tracker, time, status, message):
 * the same scan maps to the same `carrierEventId` every time and is stored once. Scans in a status
 * outside the shared vocabulary (`unknown`, `error`) carry no fact and are skipped. The tracker's
 * estimate rides on its latest scan.
 */
export function easypostTrackingEvents(
  event: EasypostEvent,
  digest: (text: string) => string,
): { trackingNumber: string; carrier: string | undefined; events: TrackingEventInput[] } {
  const tracker = event.result;
  const scans = tracker.tracking_details.filter((detail) => known.has(detail.status));
  const latest = scans.reduce<number>((index, detail, i) => {
    const best = scans[index];
    return best && Date.parse(best.datetime) > Date.parse(detail.datetime) ? index : i;
  }, 0);
  const events = scans.map((detail, i): TrackingEventInput => {
    const place = [detail.tracking_location?.city, detail.tracking_location?.state, detail.tracking_location?.country]
      .filter((part): part is string => Boolean(part))
      .join(', ');
    return {
      carrierEventId: `ep-${digest([tracker.id, detail.datetime, detail.status, detail.message ?? ''].join('\u0000')).slice(0, 40)}`,
      status: detail.status as TrackingStatus,
      occurredAt: detail.datetime,
      ...(place ? { location: place.slice(0, limits.trackingLocationLengthMax) } : {}),
      ...(detail.message ? { description: detail.message } : {}),
      ...(i === latest && tracker.est_delivery_date ? { estimatedDeliveryAt: tracker.est_delivery_date } : {}),
    };
  });
  return { trackingNumber: tracker.tracking_code, carrier: tracker.carrier ?? undefined, events };
}
