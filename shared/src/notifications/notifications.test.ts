import { describe, expect, it } from 'vitest';
import * as limits from '../limits.ts';
import { feedbackFormSchema, ratingSummary } from './feedback.ts';
import {
  notificationDedupeKey,
  notificationKinds,
  notificationsForOrderTransition,
  recipientKey,
  smsNumber,
} from './kinds.ts';
import { type NotificationData, escapeHtml, renderEmail, renderSms } from './templates.ts';

const data: NotificationData = {
  orderNumber: 'DT-0000-001Y',
  firstName: '<img src=x onerror=alert(1)>',
  items: [{ name: 'Oslo "sofa" & <chair>', quantity: 2 }],
  shipments: [{ carrier: 'DHL', trackingNumber: 'JD0146<script>' }],
};
const links = {
  brand: 'Nordhaus & <Söhne>',
  trackingUrl: 'https://shop.example/track/abc"onmouseover="x',
  unsubscribeUrl: 'https://shop.example/unsubscribe/tok',
  feedbackUrl: 'https://shop.example/feedback/fb',
};

describe('which order transitions reach the customer', () => {
  it('confirms a payment, tells shipped and delivered once, and asks for feedback on delivery', () => {
    expect(notificationsForOrderTransition('payment_confirmed', 'pending_payment', 'processing')).toEqual([
      'order_confirmed',
    ]);
    expect(notificationsForOrderTransition('all_shipped', 'partially_shipped', 'shipped')).toEqual(['order_shipped']);
    expect(notificationsForOrderTransition('delivered', 'shipped', 'delivered')).toEqual([
      'order_delivered',
      'feedback_request',
    ]);
    expect(notificationsForOrderTransition('some_shipped', 'processing', 'partially_shipped')).toEqual([]);
    expect(notificationsForOrderTransition('updated', 'shipped', 'shipped')).toEqual([]);
    expect(notificationsForOrderTransition('order_created', null, 'pending_payment')).toEqual([]);
  });

  it('keys a notification per order, kind and channel, and per shipment only for per-shipment kinds', () => {
    expect(notificationDedupeKey('o1', 'out_for_delivery', 'sms', 's1')).toBe('o1/out_for_delivery/sms/s1');
    expect(notificationDedupeKey('o1', 'order_shipped', 'email', 's1')).toBe('o1/order_shipped/email/');
  });

  it('compares recipients as people type them: e-mail in any case, phones by digits', () => {
    expect(recipientKey('email', ' Ada@Example.COM ')).toBe('ada@example.com');
    expect(smsNumber('+31 (6) 1234-5678')).toBe('+31612345678');
    expect(recipientKey('sms', '06.1234.5678')).toBe('0612345678');
  });
});

describe('notification templates', () => {
  it('escapes every value in the HTML part and keeps the links whole in the text part', () => {
    for (const kind of notificationKinds) {
      const mail = renderEmail(kind, data, links);
      expect(mail.html).not.toMatch(/<img|<script|<chair>|<Söhne>|"onmouseover/);
      expect(mail.html).toContain('Nordhaus &amp; &lt;Söhne&gt;');
      expect(mail.html).toContain(`href="${escapeHtml(links.unsubscribeUrl)}"`);
      expect(mail.text).toContain(`Stop these e-mails: ${links.unsubscribeUrl}`);
      expect(mail.subject).toContain(data.orderNumber);
    }
    expect(renderEmail('order_shipped', data, links).text).toContain('DHL, tracking number JD0146<script>');
    expect(renderEmail('feedback_request', data, links).text).toContain(`Rate your delivery: ${links.feedbackUrl}`);
    expect(renderEmail('order_confirmed', data, links).text).toContain('2 × Oslo "sofa" & <chair>');
  });

  it('fits a text message in three segments, the links never cut', () => {
    const long = { ...links, brand: 'B'.repeat(80), trackingUrl: `https://shop.example/track/${'t'.repeat(200)}` };
    for (const kind of notificationKinds) {
      const text = renderSms(kind, { ...data, orderNumber: 'X'.repeat(60) }, long);
      expect(text.length).toBeLessThanOrEqual(limits.smsBodyLengthMax);
      expect(text.endsWith(`Stop texts: ${links.unsubscribeUrl}`)).toBe(true);
    }
    expect(renderSms('order_shipped', data, links)).toBe(
      `Nordhaus & <Söhne>: order DT-0000-001Y is on its way with DHL. Track: ${links.trackingUrl} Stop texts: ${links.unsubscribeUrl}`,
    );
  });
});

describe('feedback', () => {
  it('takes a rating 1–5 as a form posts it, and a comment within its bound', () => {
    expect(feedbackFormSchema.parse({ rating: '4', comment: '  fine  ' })).toEqual({ rating: 4, comment: 'fine' });
    expect(feedbackFormSchema.safeParse({ rating: '0' }).success).toBe(false);
    expect(feedbackFormSchema.safeParse({ rating: '4.5' }).success).toBe(false);
    expect(feedbackFormSchema.safeParse({}).success).toBe(false);
    const tooLong = 'x'.repeat(limits.feedbackCommentLengthMax + 1);
    expect(feedbackFormSchema.safeParse({ rating: '3', comment: tooLong }).success).toBe(false);
  });

  it('summarizes ratings: count, average to two decimals, distribution', () => {
    expect(
      ratingSummary([
        { rating: 5, count: 2 },
        { rating: 4, count: 1 },
      ]),
    ).toEqual({ count: 3, average: 4.67, distribution: { '1': 0, '2': 0, '3': 0, '4': 1, '5': 2 } });
    expect(ratingSummary([])).toEqual({
      count: 0,
      average: null,
      distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 },
    });
  });
});
