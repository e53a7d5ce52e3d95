import { createHash } from 'node:crypto';
import { limits } from '@dovetail/shared';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context as HonoContext } from 'hono';
import { type TrackingPage, trackingPage } from '../shipments/tracking-page.ts';
import { RateLimiter } from './rate-limit.ts';
import type { HubDeps } from './trpc.ts';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const style = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1b;background:#f6f4f0}
main{max-width:40rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin:.75rem 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.status{font-size:1.25rem;font-weight:600}.eta{color:#3d5a40}.muted{color:#5f5b55;font-size:.9rem}
ol{list-style:none;padding:0;margin:0}ol li{padding:.5rem 0 .5rem 1rem;border-left:3px solid #c9c2b6}
ol li:first-child{border-left-color:#3d5a40}time{display:block;color:#5f5b55;font-size:.85rem}
ul{padding-left:1.2rem;margin:.25rem 0}a{color:#2b4c7e}`;
const styleHash = createHash('sha256').update(style).digest('base64');

/** No scripts, no images, no frames, no forms: one hashed stylesheet is all the page may load. */
const headers = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
  'x-frame-options': 'DENY',
};

const statusWords: Record<string, string> = {
  pending_payment: 'Waiting for payment',
  processing: 'Being prepared',
  partially_packed: 'Being packed',
  packed: 'Packed',
  partially_shipped: 'Partly on its way',
  shipped: 'On its way',
  delivered: 'Delivered',
  cancel_requested: 'Cancellation requested',
  canceled: 'Cancelled',
  return_requested: 'Return requested',
  returned: 'Returned',
  expired: 'Not completed',
};

const day = (iso: string) =>
  new Date(iso).toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
const moment = (iso: string) =>
  new Date(iso).toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'UTC',
  });

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main>${body}</main></body></html>`;
}

export function renderTrackingPage(view: TrackingPage, brand: string): string {
  const greeting = view.firstName ? `${escapeHtml(view.firstName)}, here` : 'Here';
  const when = view.deliveredAt
    ? `<p class="eta">Delivered ${escapeHtml(day(view.deliveredAt))}</p>`
    : view.estimatedDeliveryAt
      ? `<p class="eta">Expected ${escapeHtml(day(view.estimatedDeliveryAt))}</p>`
      : '';
  const items = view.items.map((item) => `<li>${item.quantity} × ${escapeHtml(item.name)}</li>`).join('');
  const parcels = view.shipments
    .map((shipment) => {
      const number = escapeHtml(shipment.trackingNumber);
      const link = shipment.trackingUrl
        ? `<a href="${escapeHtml(shipment.trackingUrl)}" rel="noopener noreferrer">${number}</a>`
        : number;
      return `<p>${escapeHtml(shipment.carrier)}: ${link}</p>`;
    })
    .join('');
  const steps = [...view.timeline]
    .reverse()
    .map(
      (step) =>
        `<li><time datetime="${escapeHtml(step.at)}">${escapeHtml(moment(step.at))} UTC</time>${escapeHtml(step.label)}${step.location ? ` <span class="muted">· ${escapeHtml(step.location)}</span>` : ''}</li>`,
    )
    .join('');
  return page(
    `Order ${view.orderNumber} · ${brand}`,
    `<p class="muted">${escapeHtml(brand)}</p>
<h1>Order ${escapeHtml(view.orderNumber)}</h1>
<section class="card" aria-label="Status"><p>${greeting} is where your order stands.</p><p class="status">${escapeHtml(statusWords[view.status] ?? view.status)}</p>${when}${view.city ? `<p class="muted">Delivery to ${escapeHtml(view.city)}</p>` : ''}</section>
<section class="card" aria-label="Items"><h2>In this order</h2><ul>${items}</ul></section>
${parcels ? `<section class="card" aria-label="Parcels"><h2>Carrier</h2>${parcels}</section>` : ''}
<section class="card" aria-label="Timeline"><h2>What happened</h2><ol>${steps}</ol></section>
<p class="muted">Placed ${escapeHtml(day(view.placedAt))}.</p>`,
  );
}

const notFoundPage = page(
  'Tracking link not found',
  '<h1>This tracking link does not open an order</h1><p>Check that the whole link was copied from your e-mail.</p>',
);

function clientAddress(c: HonoContext): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

/**
 * `GET /track/{token}`: the customer's tracking page, server-rendered, readable on a 360 px phone.
 * The token (128 random bits) is the only key; a wrong token, a malformed one and a missing order
 * all answer the same 404 page. Rate-limited per client address (429 past the budget).
 */
export function createTrackPageRoute(deps: HubDeps, brand: string) {
  const limiter = new RateLimiter(limits.trackingPageRequestsPerSecond, limits.trackingPageRequestsBurst, deps.nowMs);
  return async function trackPage(c: HonoContext): Promise<Response> {
    const budget = limiter.take(clientAddress(c));
    if (!budget.ok) {
      return c.html(page('Too many requests', '<h1>Too many requests</h1><p>Try again in a minute.</p>'), 429, {
        ...headers,
        'retry-after': String(budget.retryAfterSeconds),
      });
    }
    const view = await trackingPage(deps.db, c.req.param('token') ?? '', deps.nowMs());
    if (!view) return c.html(notFoundPage, 404, headers);
    return c.html(renderTrackingPage(view, brand), 200, headers);
  };
}
