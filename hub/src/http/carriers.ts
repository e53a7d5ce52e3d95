import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { easypostEventSchema, easypostTrackingEvents, fieldIssues } from '@dovetail/shared';
import type { Context as HonoContext } from 'hono';
import { recordTrackingEvent, shipmentByTrackingNumber } from '../shipments/tracking.ts';
import type { HubDeps } from './trpc.ts';

/** What a tracker update may weigh: a long journey's full history, well under this. */
export const carrierWebhookBytesMax = 256 * 1024;

/**
 * EasyPost signs each webhook with `X-Hmac-Signature: hmac-sha256-hex=<hex>`, the HMAC-SHA256 of
 * the raw body under the webhook secret (NFKD-normalised, as EasyPost's own client libraries do).
 */
export function easypostSignature(secret: string, rawBody: string): string {
  return `hmac-sha256-hex=${createHmac('sha256', secret.normalize('NFKD')).update(rawBody, 'utf8').digest('hex')}`;
}

function signatureMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(given.trim().toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

const fail = (c: HonoContext, status: 400 | 401 | 404 | 413, code: string, message: string, details?: unknown) =>
  c.json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);

/**
 * `POST /api/v1/carriers/easypost`: EasyPost's `tracker.updated` webhook, verified by its signature
 * (no bearer token: EasyPost cannot hold one) and mapped onto the same call as
 * `POST /shipments/{id}/events`, one scan at a time. The shipment is found by tracking number (and
 * carrier). Answered 200 whenever the request was genuine, matched or not, so EasyPost does not
 * retry what will never match; 401 when the signature is wrong. Off (404) without
 * `HUB_EASYPOST_WEBHOOK_SECRET`.
 */
export function createEasypostRoute(deps: HubDeps, secret: string | undefined) {
  return async function easypostRoute(c: HonoContext): Promise<Response> {
    if (!secret) return fail(c, 404, 'not_found', 'the EasyPost adapter is off (set HUB_EASYPOST_WEBHOOK_SECRET)');
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > carrierWebhookBytesMax) return fail(c, 413, 'payload_too_large', 'tracker update too large');
    const raw = await c.req.text();
    if (raw.length > carrierWebhookBytesMax) return fail(c, 413, 'payload_too_large', 'tracker update too large');
    if (!signatureMatches(easypostSignature(secret, raw), c.req.header('x-hmac-signature'))) {
      deps.logger.warn({ adapter: 'easypost' }, 'carrier webhook with a bad signature refused');
      return fail(c, 401, 'invalid_signature', 'X-Hmac-Signature does not match this body');
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return fail(c, 400, 'invalid_json', 'the request body is not valid JSON');
    }
    const parsed = easypostEventSchema.safeParse(json);
    if (!parsed.success) {
      return fail(c, 400, 'invalid_input', 'not an EasyPost event', { issues: fieldIssues(parsed.error) });
    }
    if (parsed.data.description !== 'tracker.updated') return c.json({ ignored: parsed.data.description });
    const digest = (text: string) => createHash('sha256').update(text).digest('hex');
    const tracker = easypostTrackingEvents(parsed.data, digest);
    const shipment = await shipmentByTrackingNumber(deps.db, tracker.carrier ?? '', tracker.trackingNumber);
    if (!shipment) return c.json({ matched: false, trackingNumber: tracker.trackingNumber });
    let recorded = 0;
    let status = shipment.status;
    for (const event of tracker.events) {
      const result = await recordTrackingEvent(
        deps.db,
        deps.dialect,
        shipment.id,
        event,
        { role: 'admin', subject: 'easypost', warehouses: '*' },
        { source: 'easypost', nowMs: deps.nowMs() },
      );
      if (result.created) recorded++;
      status = result.shipment.status;
    }
    return c.json({ matched: true, shipmentId: shipment.id, status, recorded });
  };
}
