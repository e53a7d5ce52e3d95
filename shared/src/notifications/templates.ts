import { z } from 'zod';
import * as limits from '../limits.ts';
import type { NotificationKind } from './kinds.ts';

/**
 * What a customer notification says: the facts, snapshotted when the change it reports commits
 * (order number, first name, items, parcels), rendered at send time with the hub's links and brand.
 * Pure: no I/O, every value escaped for HTML where HTML is written.
 */
export const notificationDataSchema = z.strictObject({
  orderNumber: z.string().min(1).max(64),
  firstName: z.string().max(limits.customerNameLengthMax),
  items: z.array(z.strictObject({ name: z.string().max(500), quantity: z.int().positive() })).max(limits.orderLinesMax),
  shipments: z
    .array(z.strictObject({ carrier: z.string().max(limits.carrierLengthMax), trackingNumber: z.string().max(100) }))
    .max(limits.orderLinesMax),
});
export type NotificationData = z.infer<typeof notificationDataSchema>;

export type NotificationLinks = {
  brand: string;
  /** The order's tracking page: `HUB_PUBLIC_URL/track/<token>`. */
  trackingUrl: string;
  /** This recipient's opt-out page for this channel: `HUB_PUBLIC_URL/unsubscribe/<token>`. */
  unsubscribeUrl: string;
  /** The one-question feedback page (feedback requests only): `HUB_PUBLIC_URL/feedback/<token>`. */
  feedbackUrl?: string | undefined;
};

export type EmailContent = { subject: string; text: string; html: string };

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** One paragraph, or a link the reader should follow. */
type Block = { text: string } | { link: string; label: string } | { list: string[] };

const parcels = (data: NotificationData) =>
  data.shipments.map((shipment) => `${shipment.carrier}, tracking number ${shipment.trackingNumber}`);
const items = (data: NotificationData) => data.items.map((item) => `${item.quantity} × ${item.name}`);

function content(
  kind: NotificationKind,
  data: NotificationData,
  links: NotificationLinks,
): { subject: string; blocks: Block[] } {
  const order = data.orderNumber;
  const track: Block = { link: links.trackingUrl, label: 'Follow your order' };
  switch (kind) {
    case 'order_confirmed':
      return {
        subject: `Order ${order} confirmed`,
        blocks: [
          { text: `Thank you for your order ${order}. We have your payment and are preparing it.` },
          { list: items(data) },
          track,
        ],
      };
    case 'order_shipped':
      return {
        subject: `Order ${order} has shipped`,
        blocks: [
          {
            text: `Your order ${order} has left our warehouse${data.shipments.length > 1 ? ` in ${data.shipments.length} parcels` : ''}.`,
          },
          { list: parcels(data) },
          track,
        ],
      };
    case 'out_for_delivery':
      return {
        subject: `Order ${order} is out for delivery`,
        blocks: [
          {
            text: `${data.shipments[0]?.carrier ?? 'The carrier'} is delivering ${data.shipments.length > 0 ? 'a parcel of ' : ''}your order ${order} today.`,
          },
          { list: parcels(data) },
          track,
        ],
      };
    case 'order_delivered':
      return {
        subject: `Order ${order} was delivered`,
        blocks: [{ text: `Your order ${order} was delivered. We hope you enjoy it.` }, { list: items(data) }, track],
      };
    case 'feedback_request':
      return {
        subject: `How was your delivery? (order ${order})`,
        blocks: [
          {
            text: `Your order ${order} arrived a little while ago. Would you tell us how it went? It is one question.`,
          },
          { link: links.feedbackUrl ?? links.trackingUrl, label: 'Rate your delivery' },
        ],
      };
  }
}

const greeting = (data: NotificationData) => (data.firstName ? `Hello ${data.firstName},` : 'Hello,');

/** The e-mail for one notification: a plain-text part and an HTML part saying the same. */
export function renderEmail(kind: NotificationKind, data: NotificationData, links: NotificationLinks): EmailContent {
  const { subject, blocks } = content(kind, data, links);
  const footer = `You receive this because you ordered from ${links.brand}.`;
  const text = [
    greeting(data),
    ...blocks.flatMap((block) => {
      if ('text' in block) return [block.text];
      if ('list' in block) return block.list.length > 0 ? [block.list.map((line) => `- ${line}`).join('\n')] : [];
      return [`${block.label}: ${block.link}`];
    }),
    `${links.brand}`,
    `--\n${footer}\nStop these e-mails: ${links.unsubscribeUrl}`,
  ].join('\n\n');
  const p = 'margin:0 0 16px';
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f6f4f0;font:16px/1.5 system-ui,-apple-system,\'Segoe UI\',sans-serif;color:#1d1d1b">',
    '<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:12px;padding:24px">',
    `<p style="${p};color:#5f5b55;font-size:14px">${escapeHtml(links.brand)}</p>`,
    `<p style="${p}">${escapeHtml(greeting(data))}</p>`,
    ...blocks.map((block) => {
      if ('text' in block) return `<p style="${p}">${escapeHtml(block.text)}</p>`;
      if ('list' in block) {
        return block.list.length > 0
          ? `<ul style="${p};padding-left:20px">${block.list.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`
          : '';
      }
      return `<p style="${p}"><a href="${escapeHtml(block.link)}" style="display:inline-block;background:#3d5a40;color:#fff;text-decoration:none;padding:10px 18px;border-radius:8px">${escapeHtml(block.label)}</a></p>`;
    }),
    '</div>',
    `<p style="max-width:560px;margin:16px auto 0;color:#5f5b55;font-size:13px">${escapeHtml(footer)} <a href="${escapeHtml(links.unsubscribeUrl)}" style="color:#5f5b55">Stop these e-mails</a></p>`,
    '</body></html>',
  ].join('');
  return { subject: `${subject} · ${links.brand}`, text, html };
}

/** The text message for one notification (plain text, at most `smsBodyLengthMax` characters, links kept whole). */
export function renderSms(kind: NotificationKind, data: NotificationData, links: NotificationLinks): string {
  const order = data.orderNumber;
  const carrier = data.shipments[0]?.carrier;
  const said: Record<NotificationKind, string> = {
    order_confirmed: `order ${order} is confirmed.`,
    order_shipped: `order ${order} is on its way${carrier ? ` with ${carrier}` : ''}.`,
    out_for_delivery: `order ${order} is out for delivery today${carrier ? ` with ${carrier}` : ''}.`,
    order_delivered: `order ${order} was delivered.`,
    feedback_request: `how was the delivery of order ${order}?`,
  };
  const link = kind === 'feedback_request' ? (links.feedbackUrl ?? links.trackingUrl) : links.trackingUrl;
  const tail = ` ${kind === 'feedback_request' ? 'Rate it' : 'Track'}: ${link} Stop texts: ${links.unsubscribeUrl}`;
  const head = `${links.brand}: ${said[kind]}`;
  return head.slice(0, Math.max(0, limits.smsBodyLengthMax - tail.length)) + tail;
}
