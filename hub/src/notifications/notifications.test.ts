import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub } from '../hub.ts';
import { TestMailInbox, TestSmsProvider } from '../testing/mail-inbox.ts';
import { type TestHub, adminSecret, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';
import { type NotificationSettings, defaultNotificationSettings } from './settings.ts';
import { NotificationWorker } from './worker.ts';

/**
 * Customer notifications end to end, in-process: orders paid, shipped by a 3PL, scanned by a carrier
 * and delivered through the API; e-mails into a real SMTP server on loopback (smtp-server), text
 * messages into a real HTTP server standing in for a Twilio-style provider.
 */
const publicUrl = 'https://shop.nordhaus.example';
const feedbackDelayMs = 2 * 24 * 3_600_000;
const retryMs = 1_000;

let hub: TestHub;
let inbox: TestMailInbox;
let sms: TestSmsProvider;
let admin: string;
let clock: number;

function settings(smtpUrl: string | undefined): Partial<NotificationSettings> {
  return {
    smtpUrl,
    mailFrom: 'Nordhaus <orders@nordhaus.example>',
    sms: { url: sms.url(), auth: 'AC123:sms-secret', from: '+15005550006' },
    feedbackDelayMs,
    retryScheduleMs: [0, retryMs, retryMs, retryMs],
    attemptTimeoutMs: 2_000,
    pollIntervalMs: 20,
  };
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const rows = () =>
  hub.storage.db
    .selectFrom('notifications')
    .selectAll()
    .orderBy('created_at')
    .orderBy('kind')
    .orderBy('channel')
    .execute();

/** Every notification that is due has an outcome (feedback requests wait for their delay). */
const settled = () =>
  waitUntil('due notifications to be sent', async () => {
    const waiting = await hub.storage.db
      .selectFrom('notifications')
      .select('id')
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('kind', '!=', 'feedback_request'), eb('created_at', '<=', clock - feedbackDelayMs)]))
      .execute();
    return waiting.length === 0;
  });

/** The path of a link in a message, requested through the app as the customer's browser would. */
const open = (link: string, init?: RequestInit) => {
  expect(link.startsWith(`${publicUrl}/`)).toBe(true);
  return hub.app.request(link.slice(publicUrl.length), init);
};

async function client(body: Record<string, unknown>): Promise<string> {
  const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body });
  expect(created.status).toBe(201);
  return clientToken(hub, created.body.clientId, created.body.clientSecret);
}

async function placeAndPay(customer: Record<string, unknown>): Promise<{ orderId: string; fulfillmentId: string }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token: admin,
    body: {
      customer,
      shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      lines: [{ sku: 'SOFA-1', quantity: 1 }],
    },
  });
  expect(placed.status).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token: admin,
    body: { reference: `psp-${placed.body.id}` },
  });
  expect(paid.status).toBe(200);
  return { orderId: placed.body.id, fulfillmentId: paid.body.fulfillments[0].id };
}

async function ship(fulfillmentId: string, carrier: string, trackingNumber: string): Promise<string> {
  expect(
    (await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: admin, body: {} })).status,
  ).toBe(200);
  const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
    token: admin,
    body: { carrier, trackingNumber },
  });
  expect(shipped.status).toBe(200);
  const listed = await hub.storage.db
    .selectFrom('shipments')
    .select('id')
    .where('fulfillment_id', '=', fulfillmentId)
    .executeTakeFirstOrThrow();
  return listed.id;
}

const scan = (shipmentId: string, carrierEventId: string, status: string, occurredAt: string) =>
  call(hub, 'POST', `/api/v1/shipments/${shipmentId}/events`, {
    token: admin,
    body: { carrierEventId, status, occurredAt },
  });

const ada = { email: 'ada@example.com', name: 'Ada <b>Lovelace</b>', phone: '+31 6 1234 5678' };

async function deliveredOrder(
  customer: Record<string, unknown> = ada,
  carrier = 'DHL',
): Promise<{ orderId: string; shipmentId: string }> {
  const { orderId, fulfillmentId } = await placeAndPay(customer);
  const shipmentId = await ship(fulfillmentId, carrier, `${carrier}-${orderId.slice(0, 8)}`);
  expect((await scan(shipmentId, `${shipmentId}-d`, 'delivered', '2026-12-03T15:00:00Z')).status).toBe(201);
  return { orderId, shipmentId };
}

describe.each(['sqlite', 'postgres'] as const)('customer notifications on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    inbox = await new TestMailInbox().start();
    sms = await new TestSmsProvider().start();
    hub = await startTestHub(adapter, {
      nowMs: () => clock,
      publicUrl,
      brand: 'Nordhaus & Söhne',
      notifications: settings(inbox.url()),
    });
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    for (const [id, lon] of [
      ['TPL', 4.89],
      ['TPL2', 5.5],
    ] as const) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id, name: id, kind: '3pl', location: { lat: 52.37, lon } },
      });
      await call(hub, 'PUT', `/api/v1/warehouses/${id}/inventory/SOFA-1`, { token: admin, body: { onHand: 5 } });
    }
  });
  afterEach(async () => {
    await hub.dispose();
    await inbox.close();
    await sms.close();
  });

  it('tells the customer once per event: confirmed, shipped with a tracking link that opens, out for delivery, delivered', async () => {
    const { orderId, fulfillmentId } = await placeAndPay(ada);
    const [confirmation] = await inbox.waitFor(1);
    expect(confirmation!.to).toEqual(['ada@example.com']);
    expect(confirmation!.subject).toMatch(/^Order DT-[0-9A-Z-]+ confirmed · Nordhaus & Söhne$/);
    expect(confirmation!.headers.get('from')).toContain('orders@nordhaus.example');
    expect(confirmation!.messageId).toMatch(/^<ntf_[0-9a-f]{32}@nordhaus\.example>$/);
    const unsubscribe = confirmation!.headers.get('list-unsubscribe')!;
    expect(unsubscribe).toMatch(new RegExp(`^<${publicUrl}/unsubscribe/[A-Za-z0-9_-]{32}>$`));
    expect(confirmation!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    // Everything the customer typed is escaped in the HTML part, and said as typed in the text part.
    expect(confirmation!.text).toContain('Hello Ada,');
    expect(confirmation!.html).not.toContain('<b>');
    expect(confirmation!.html).toContain('Nordhaus &amp; Söhne');
    expect(confirmation!.text).toContain('1 × Oslo 3-seat sofa (grey)');
    expect(confirmation!.html).toContain(`href="${unsubscribe.slice(1, -1)}"`);

    const shipmentId = await ship(fulfillmentId, 'DHL', 'JD014600003812345678');
    const [, shipped] = await inbox.waitFor(2);
    expect(shipped!.subject).toContain('has shipped');
    expect(shipped!.text).toContain('DHL, tracking number JD014600003812345678');
    const trackingLink = shipped!.links.find((link) => link.includes('/track/'))!;
    const order = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin });
    expect(trackingLink).toBe(order.body.trackingUrl);
    const page = await open(trackingLink);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(order.body.number);

    // The carrier's scans, duplicated and out of order: one e-mail for the first out-for-delivery
    // scan, one for the delivery.
    expect((await scan(shipmentId, 'dhl-1', 'in_transit', '2026-12-02T06:00:00Z')).status).toBe(201);
    expect((await scan(shipmentId, 'dhl-3', 'out_for_delivery', '2026-12-03T07:00:00Z')).status).toBe(201);
    expect((await scan(shipmentId, 'dhl-3', 'out_for_delivery', '2026-12-03T07:00:00Z')).status).toBe(200);
    expect((await scan(shipmentId, 'dhl-4', 'out_for_delivery', '2026-12-03T08:00:00Z')).status).toBe(201);
    await inbox.waitFor(3);
    expect((await scan(shipmentId, 'dhl-5', 'delivered', '2026-12-03T15:00:00Z')).status).toBe(201);
    expect((await scan(shipmentId, 'dhl-5', 'delivered', '2026-12-03T15:00:00Z')).status).toBe(200);
    expect((await scan(shipmentId, 'dhl-2', 'in_transit', '2026-12-02T18:00:00Z')).status).toBe(201);
    await inbox.waitFor(4);
    await settled();
    expect(inbox.messages.map((mail) => mail.subject.split(' · ')[0]!.replace(/DT-[0-9A-Z-]+/, 'N'))).toEqual([
      'Order N confirmed',
      'Order N has shipped',
      'Order N is out for delivery',
      'Order N was delivered',
    ]);
    expect([...inbox.byMessageId().values()]).toEqual([1, 1, 1, 1]);

    // The same events by text message (the customer gave a phone; no SMS for the confirmation).
    await waitUntil('three text messages', async () => sms.received.length >= 3);
    expect(sms.received.map((message) => message.path)).toEqual(
      Array(3).fill('/2010-04-01/Accounts/AC123/Messages.json'),
    );
    expect(sms.received[0]).toMatchObject({
      to: '+31612345678',
      from: '+15005550006',
      authorization: `Basic ${Buffer.from('AC123:sms-secret').toString('base64')}`,
    });
    expect(sms.received[0]!.body).toContain(`Track: ${trackingLink}`);
    expect(sms.received[1]!.body).toContain('out for delivery');
    expect(sms.received[2]!.body).toContain('was delivered');
    const smsOptOut = /Stop texts: (\S+)/.exec(sms.received[0]!.body)![1]!;
    expect(await (await open(smsOptOut)).text()).toContain('text messages');

    const stored = await rows();
    expect(stored.map((row) => [row.kind, row.channel, row.status].join(' ')).sort()).toEqual([
      'feedback_request email pending',
      'order_confirmed email sent',
      'order_delivered email sent',
      'order_delivered sms sent',
      'order_shipped email sent',
      'order_shipped sms sent',
      'out_for_delivery email sent',
      'out_for_delivery sms sent',
    ]);
    expect(stored.find((row) => row.kind === 'out_for_delivery')!.shipment_id).toBe(shipmentId);
    expect(stored.find((row) => row.channel === 'sms' && row.status === 'sent')!.provider_reference).toMatch(/^SM\d+$/);
  });

  it('sends the feedback e-mail only after the delay; the page takes one answer and the summary counts it', async () => {
    const first = await deliveredOrder();
    await inbox.waitFor(3); // confirmed, shipped, delivered
    await settled();
    clock += feedbackDelayMs - 60_000;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(inbox.messages.some((mail) => mail.subject.startsWith('How was your delivery'))).toBe(false);
    clock += 120_000;
    admin = await adminToken(hub); // tokens live minutes: the clock moved two days
    await inbox.waitFor(4);
    const request = inbox.messages[3]!;
    expect(request.subject).toContain('How was your delivery?');
    expect(request.headers.get('list-unsubscribe')).toBeDefined();
    const link = request.links.find((candidate) => candidate.includes('/feedback/'))!;
    expect(link).toMatch(new RegExp(`^${publicUrl}/feedback/[A-Za-z0-9_-]{32}$`));

    const form = await open(link);
    expect(form.status).toBe(200);
    const csp = form.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(form.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await form.text();
    expect(html).toContain('<form method="post">');
    expect(html).not.toContain('ada@example.com');
    expect(html).not.toContain('Lovelace');
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      open(link, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('rating=9')).status).toBe(400);
    expect((await post('{"rating":4}', 'application/json')).status).toBe(415);
    const answered = await post(new URLSearchParams({ rating: '4', comment: 'Friendly driver <3' }).toString());
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain('Thank you');
    const again = await post('rating=1');
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already have your answer');
    expect((await open(link)).status).toBe(200);

    // A second order, from the other warehouse by another carrier, rated 2.
    const emptied = await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', {
      token: admin,
      body: { onHand: 0 },
    });
    expect(emptied.status).toBe(200);
    const second = await deliveredOrder({ email: 'grace@example.com', name: 'Grace Hopper' }, 'UPS');
    const secondShipment = await hub.storage.db
      .selectFrom('shipments')
      .select('warehouse_id')
      .where('id', '=', second.shipmentId)
      .executeTakeFirstOrThrow();
    expect(secondShipment.warehouse_id).toBe('TPL2');
    // Everything due is sent before the clock jumps days ahead (a jump would also expire the leases
    // of attempts in flight: real clocks do not move days in a millisecond).
    await inbox.waitFor(7);
    await settled();
    clock += feedbackDelayMs + 1;
    admin = await adminToken(hub);
    await inbox.waitFor(8);
    const secondLink = inbox.messages
      .filter((mail) => mail.to[0] === 'grace@example.com')
      .flatMap((mail) => mail.links)
      .find((candidate) => candidate.includes('/feedback/'))!;
    const secondAnswer = await open(secondLink, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'rating=2',
    });
    expect(secondAnswer.status).toBe(200);

    const service = await client({ name: 'care desk', role: 'customer_service' });
    const all = await call(hub, 'GET', '/api/v1/feedback', { token: service });
    expect(all.status).toBe(200);
    expect(all.headers.get('cache-control')).toContain('no-store');
    expect(all.body.items.map((item: { orderId: string }) => item.orderId).sort()).toEqual(
      [first.orderId, second.orderId].sort(),
    );
    expect(all.body.items.find((item: { orderId: string }) => item.orderId === first.orderId)).toMatchObject({
      rating: 4,
      comment: 'Friendly driver <3',
      warehouses: ['TPL'],
      carriers: ['dhl'],
    });
    expect(all.body.summary.overall).toEqual({
      count: 2,
      average: 3,
      distribution: { '1': 0, '2': 1, '3': 0, '4': 1, '5': 0 },
    });
    expect(all.body.summary.byWarehouse).toEqual(
      expect.arrayContaining([
        { warehouseId: 'TPL', count: 1, average: 4, distribution: { '1': 0, '2': 0, '3': 0, '4': 1, '5': 0 } },
        { warehouseId: 'TPL2', count: 1, average: 2, distribution: { '1': 0, '2': 1, '3': 0, '4': 0, '5': 0 } },
      ]),
    );
    expect(all.body.summary.byCarrier.map((group: { carrier: string }) => group.carrier).sort()).toEqual([
      'dhl',
      'ups',
    ]);
    const byWarehouse = await call(hub, 'GET', '/api/v1/feedback?warehouseId=TPL2', { token: service });
    expect(byWarehouse.body.items.map((item: { orderId: string }) => item.orderId)).toEqual([second.orderId]);
    expect(byWarehouse.body.summary.overall.count).toBe(1);
    const byCarrier = await call(hub, 'GET', '/api/v1/feedback?carrier=DHL', { token: service });
    expect(byCarrier.body.summary.overall).toMatchObject({ count: 1, average: 4 });
    const paged = await call(hub, 'GET', '/api/v1/feedback?limit=1', { token: service });
    expect(paged.body.items).toHaveLength(1);
    const next = await call(hub, 'GET', `/api/v1/feedback?limit=1&cursor=${paged.body.nextCursor}`, {
      token: service,
    });
    expect(next.body.items).toHaveLength(1);
    expect(next.body.items[0].orderId).not.toBe(paged.body.items[0].orderId);
    expect(next.body.nextCursor).toBeNull();
    const partner = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
    expect((await call(hub, 'GET', '/api/v1/feedback', { token: partner })).status).toBe(403);
  });

  it('unsubscribes: GET changes nothing, POST (one-click) opts out, and the next e-mail is suppressed', async () => {
    const { fulfillmentId } = await placeAndPay(ada);
    const [confirmation] = await inbox.waitFor(1);
    const link = confirmation!.headers.get('list-unsubscribe')!.slice(1, -1);
    const optedOut = () =>
      hub.storage.db
        .selectFrom('notification_recipients')
        .select('opted_out_at')
        .where('channel', '=', 'email')
        .executeTakeFirstOrThrow()
        .then((row) => row.opted_out_at);

    const page = await open(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    const html = await page.text();
    expect(html).toContain('<form method="post">');
    expect(html).not.toContain('ada@example.com');
    expect(await optedOut()).toBeNull();
    expect((await open(link, { method: 'HEAD' })).status).toBeLessThan(500);
    expect(await optedOut()).toBeNull();

    const oneClick = await open(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    expect(await oneClick.text()).toContain('You are unsubscribed');
    const at = await optedOut();
    expect(at).toBe(clock);
    expect((await open(link, { method: 'POST' })).status).toBe(200); // again: unchanged
    expect(await optedOut()).toBe(at);

    await ship(fulfillmentId, 'DHL', 'JD014600003812345678');
    // The same customer, their address typed differently, orders again: still opted out.
    await placeAndPay({ email: 'ADA@Example.com', name: 'Ada' });
    await settled();
    await waitUntil('the shipped text message', async () => sms.received.length >= 1);
    expect(inbox.messages).toHaveLength(1);
    const stored = await rows();
    expect(
      stored
        .filter((row) => row.channel === 'email')
        .map((row) => `${row.kind} ${row.status}`)
        .sort(),
    ).toEqual(['order_confirmed sent', 'order_confirmed suppressed', 'order_shipped suppressed']);
    expect(stored.find((row) => row.channel === 'sms')!.status).toBe('sent'); // another channel
    expect((await hub.app.request('/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await hub.app.request('/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { method: 'POST' })).status).toBe(
      404,
    );
  });

  it('sends an e-mail that waited while the opt-out came in as suppressed, not sent', async () => {
    await deliveredOrder();
    await inbox.waitFor(3);
    const link = inbox.messages[0]!.headers.get('list-unsubscribe')!.slice(1, -1);
    expect((await open(link, { method: 'POST' })).status).toBe(200);
    await settled();
    clock += feedbackDelayMs + 1;
    await settled();
    expect(inbox.messages).toHaveLength(3);
    const feedback = (await rows()).find((row) => row.kind === 'feedback_request')!;
    expect(feedback.status).toBe('suppressed');
  });

  it('retries while the SMTP server is down and delivers once it is up, one message', async () => {
    await hub.dispose();
    const port = await freePort();
    hub = await startTestHub(adapter, {
      nowMs: () => clock,
      publicUrl,
      notifications: settings(`smtp://127.0.0.1:${port}`),
    });
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'TPL', name: 'TPL', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    await placeAndPay({ email: 'ada@example.com', name: 'Ada' });
    await waitUntil('a failed first attempt', async () => (await rows())[0]?.attempts === 1);
    const failed = (await rows())[0]!;
    expect(failed).toMatchObject({ status: 'pending', attempts: 1 });
    expect(failed.last_error).toMatch(/ECONNREFUSED|connect/i);

    await inbox.close();
    inbox = await new TestMailInbox().start(port);
    clock += retryMs * 2;
    await inbox.waitFor(1);
    await settled();
    expect((await rows())[0]).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(inbox.messages).toHaveLength(1);
    expect(inbox.messages[0]!.messageId).toBe(`<${failed.id}@nordhaus.example>`);
  });

  it('fails an e-mail the server refuses for good (550) without retrying, and retries a 451', async () => {
    inbox.refuse = (mail) =>
      mail.to[0] === 'gone@example.com' ? 550 : mail.to[0] === 'later@example.com' ? 451 : undefined;
    await placeAndPay({ email: 'gone@example.com', name: 'Gone' });
    await placeAndPay({ email: 'later@example.com', name: 'Later' });
    await waitUntil('both first attempts', async () => (await rows()).every((row) => row.attempts >= 1));
    const [gone, later] = await rows();
    expect(gone).toMatchObject({ status: 'failed', attempts: 1 });
    expect(gone!.last_error).toContain('550');
    expect(later).toMatchObject({ status: 'pending', attempts: 1 });
    inbox.refuse = () => undefined;
    clock += retryMs * 2;
    await inbox.waitFor(1);
    await settled();
    expect((await rows()).map((row) => row.status)).toEqual(['failed', 'sent']);
  });

  it('retries a text message the provider redirects (never following it) or refuses with 503', async () => {
    sms.answer = (_request, nth) =>
      nth === 0 ? { status: 302, headers: { location: '/elsewhere' } } : nth === 1 ? { status: 503 } : { status: 201 };
    const { fulfillmentId } = await placeAndPay(ada);
    await ship(fulfillmentId, 'DHL', 'JD014600003812345678');
    await waitUntil('the redirected attempt', async () =>
      (await rows()).some((row) => row.channel === 'sms' && row.attempts === 1),
    );
    expect(sms.received.map((request) => request.path)).toEqual(['/2010-04-01/Accounts/AC123/Messages.json']);
    const redirected = (await rows()).find((row) => row.channel === 'sms')!;
    expect(redirected.status).toBe('pending');
    expect(redirected.last_error).toContain('redirect not followed');
    clock += retryMs * 2;
    await waitUntil('the 503 attempt recorded', async () =>
      (await rows()).some((row) => row.channel === 'sms' && row.attempts === 2),
    );
    expect(sms.received).toHaveLength(2);
    clock += retryMs * 2;
    await waitUntil('the text message sent', async () =>
      (await rows()).some((row) => row.channel === 'sms' && row.status === 'sent'),
    );
    expect(sms.received).toHaveLength(3);
  });

  it('sends each notification once with three workers racing, and a worker run again sends nothing more', async () => {
    const extra = [1, 2].map((n) =>
      new NotificationWorker({
        db: hub.storage.db,
        dialect: hub.storage.dialect,
        settings: { ...defaultNotificationSettings, ...settings(inbox.url()) },
        brand: 'Nordhaus',
        publicUrl,
        logger: pino({ level: 'silent' }),
        nowMs: () => clock,
        instanceId: `racer-${n}`,
      }).start(),
    );
    const orders = 6;
    await Promise.all(
      Array.from({ length: orders }, (_, n) => placeAndPay({ email: `buyer${n}@example.com`, name: `Buyer ${n}` })),
    );
    await inbox.waitFor(orders);
    await settled();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inbox.messages).toHaveLength(orders);
    expect([...inbox.byMessageId().values()].every((count) => count === 1)).toBe(true);
    await Promise.all(extra.map((worker) => worker.stop()));
    const again = new NotificationWorker({
      db: hub.storage.db,
      dialect: hub.storage.dialect,
      settings: { ...defaultNotificationSettings, ...settings(inbox.url()) },
      brand: 'Nordhaus',
      publicUrl,
      logger: pino({ level: 'silent' }),
      nowMs: () => clock,
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await again.stop();
    expect(inbox.messages).toHaveLength(orders);
    expect((await rows()).every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
  });
});

describe('a hub with no SMTP server configured', () => {
  it('records e-mails as skipped, never an error, and says so when it starts', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, callback) {
          lines.push(String(chunk));
          callback();
        },
      }),
    );
    clock = Date.parse('2026-12-01T09:00:00Z');
    const created = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      nowMs: () => clock,
      logger,
      notifications: { pollIntervalMs: 20 },
    });
    hub = { ...created, adapter: 'sqlite', description: 'memory', dispose: () => created.close() };
    try {
      expect(lines.some((line) => line.includes('HUB_SMTP_URL is not set'))).toBe(true);
      admin = await adminToken(hub);
      await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') });
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id: 'TPL', name: 'TPL', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
      });
      await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
      await placeAndPay({ email: 'ada@example.com', name: 'Ada', phone: '+31 6 1234 5678' });
      await settled();
      expect((await rows()).map((row) => [row.kind, row.channel, row.status, row.last_error])).toEqual([
        ['order_confirmed', 'email', 'skipped', 'SMTP is not configured (HUB_SMTP_URL)'],
      ]);
    } finally {
      await hub.dispose();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
