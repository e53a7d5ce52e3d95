import { setTimeout as sleep } from 'node:timers/promises';
import { TestMailInbox, TestSmsProvider } from '@dovetail/hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type HubProcess, createHubProducts, hubAdminToken } from '../support/hub-process.ts';
import { requestJson } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { clientCredentialsToken, storefrontToken, testShippingAddress } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { startHub } from '../sync/world.ts';

/**
 * Customer notifications across a real hub process (SQLite and PostgreSQL): the hub sends e-mail to
 * an SMTP server in this test (`HUB_SMTP_URL`) and text messages to an HTTP provider in this test
 * (`HUB_SMS_*`). A storefront's order is paid, a 3PL accepts and ships it through the API, the
 * carrier's scans arrive duplicated and out of order until the order is delivered, and after the
 * feedback delay the customer is asked how it went. The inbox holds exactly one message per
 * notification, and every link in them opens what it should on the hub.
 */

type Body = any;

const sku = 'NTF-SOFA-1';
const feedbackDelayMs = 1_500;
const adapters = hubStorageAdapters('customer_notifications');

async function expectStatus(what: string, expected: number, response: Promise<{ status: number; body: Body }>) {
  const { status, body } = await response;
  if (status !== expected) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.each(adapters)('customer notifications from a real hub process ($name)', (adapter) => {
  const cleanup = new Cleanup();
  const inbox = new TestMailInbox();
  const sms = new TestSmsProvider();
  let hub: HubProcess;
  let admin = '';
  let storefront = '';
  let partner = '';
  let carrier = '';

  const api = (method: string, path: string, token: string, body?: object) =>
    requestJson<Body>(hub.baseUrl, method, `/api/v1${path}`, { token, ...(body ? { body } : {}) });

  const client = async (body: object) => {
    const created = await expectStatus('client', 201, api('POST', '/clients', admin, body));
    return clientCredentialsToken(hub.baseUrl, created.clientId, created.clientSecret);
  };

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    await inbox.start();
    cleanup.add('close the SMTP inbox', () => inbox.close());
    await sms.start();
    cleanup.add('close the SMS provider', () => sms.close());
    const dataDir = createTempDir('notifications-hub');
    cleanup.add('remove temp dir', () => removeTempDir(dataDir));
    const port = await freePort();
    hub = await startHub(cleanup, {
      dataDir,
      port,
      env: {
        ...adapter.env(),
        HUB_PUBLIC_URL: `http://127.0.0.1:${port}`,
        HUB_BRAND_NAME: 'Nordhaus',
        HUB_SMTP_URL: inbox.url(),
        HUB_MAIL_FROM: 'Nordhaus <orders@nordhaus.example>',
        HUB_SMS_URL: sms.url(),
        HUB_SMS_AUTH: 'AC123:sms-secret',
        HUB_SMS_FROM: '+15005550006',
        HUB_FEEDBACK_DELAY_MS: String(feedbackDelayMs),
      },
    });
    admin = await hubAdminToken(hub.baseUrl);
    await createHubProducts(hub.baseUrl, admin, [sku]);
    storefront = await storefrontToken(hub.baseUrl, admin);
    await expectStatus(
      'warehouse',
      201,
      api('POST', '/warehouses', admin, {
        id: 'TPL1',
        name: 'Partner TPL1',
        kind: '3pl',
        location: testShippingAddress.location,
      }),
    );
    partner = await client({ name: 'partner', role: '3pl', warehouses: ['TPL1'] });
    carrier = await client({ name: 'dhl tracking', role: 'carrier', carrier: 'DHL' });
    await expectStatus('stock', 200, api('PUT', `/warehouses/TPL1/inventory/${sku}`, partner, { onHand: 4 }));
  }, 120_000);
  afterAll(() => cleanup.runAll(), 60_000);

  it('sends one message per notification, each with working links, through pay, ship, scans and delivery', async () => {
    const placed = await expectStatus(
      'order',
      201,
      api('POST', '/orders', storefront, {
        lines: [{ sku, quantity: 1 }],
        customer: { email: 'ines@example.com', name: 'Inès Laurent', phone: '+33 6 12 34 56 78' },
        shippingAddress: testShippingAddress,
      }),
    );
    const paid = await expectStatus(
      'payment',
      200,
      api('POST', `/orders/${placed.id}/payment`, storefront, { reference: 'psp-ntf-1' }),
    );
    await inbox.waitFor(1, 30_000);
    const fulfillmentId = paid.fulfillments[0].id;
    await expectStatus('accept', 200, api('POST', `/fulfillment-orders/${fulfillmentId}/accept`, partner, {}));
    await expectStatus(
      'ship',
      200,
      api('POST', `/fulfillment-orders/${fulfillmentId}/ship`, partner, {
        carrier: 'DHL',
        trackingNumber: 'JD014600003812345678',
      }),
    );
    const shipped = await expectStatus('order', 200, api('GET', `/orders/${placed.id}`, storefront));
    expect(shipped.status).toBe('shipped');
    const shipmentId = shipped.shipments[0].id;
    const scan = (carrierEventId: string, status: string, occurredAt: string) =>
      api('POST', `/shipments/${shipmentId}/events`, carrier, { carrierEventId, status, occurredAt });
    // Duplicated and out of order, as carriers send them.
    const scans: Array<[string, string, string, number]> = [
      ['dhl-2', 'in_transit', '2026-12-02T06:00:00Z', 201],
      ['dhl-1', 'pre_transit', '2026-12-01T12:00:00Z', 201],
      ['dhl-2', 'in_transit', '2026-12-02T06:00:00Z', 200],
      ['dhl-3', 'out_for_delivery', '2026-12-03T07:00:00Z', 201],
      ['dhl-3', 'out_for_delivery', '2026-12-03T07:00:00Z', 200],
      ['dhl-4', 'out_for_delivery', '2026-12-03T07:30:00Z', 201],
      ['dhl-5', 'delivered', '2026-12-03T15:00:00Z', 201],
      ['dhl-5', 'delivered', '2026-12-03T15:00:00Z', 200],
      ['dhl-2b', 'in_transit', '2026-12-02T18:00:00Z', 201],
    ];
    for (const [id, status, at, expected] of scans) await expectStatus(`scan ${id}`, expected, scan(id, status, at));
    const delivered = await expectStatus('order', 200, api('GET', `/orders/${placed.id}`, storefront));
    expect(delivered.status).toBe('delivered');

    // Confirmed, shipped, out for delivery, delivered, and (after the delay) the feedback request.
    await inbox.waitFor(5, 30_000);
    await waitFor('three text messages', () => sms.received.length >= 3);
    await sleep(feedbackDelayMs + 1_000); // room for a duplicate to show, if anything sent one
    const subjects = inbox.messages.map((mail) => mail.subject.replace(delivered.number, 'N'));
    expect(subjects).toEqual([
      'Order N confirmed · Nordhaus',
      'Order N has shipped · Nordhaus',
      'Order N is out for delivery · Nordhaus',
      'Order N was delivered · Nordhaus',
      'How was your delivery? (order N) · Nordhaus',
    ]);
    expect([...inbox.byMessageId().values()]).toEqual([1, 1, 1, 1, 1]);
    expect(inbox.messages.every((mail) => mail.to[0] === 'ines@example.com')).toBe(true);
    expect(sms.received.map((message) => message.to)).toEqual(Array(3).fill('+33612345678'));

    // Every link opens what it says, on the hub itself.
    const links = new Set(inbox.messages.flatMap((mail) => mail.links));
    const tracking = [...links].find((link) => link.includes('/track/'))!;
    expect(tracking).toBe(delivered.trackingUrl);
    const page = await fetch(tracking);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(delivered.number);
    const unsubscribe = [...links].find((link) => link.includes('/unsubscribe/'))!;
    expect(inbox.messages[0]!.headers.get('list-unsubscribe')).toBe(`<${unsubscribe}>`);
    expect(inbox.messages[0]!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const optOutPage = await fetch(unsubscribe);
    expect(optOutPage.status).toBe(200);
    expect(await optOutPage.text()).toContain('Unsubscribe');
    const feedback = [...links].find((link) => link.includes('/feedback/'))!;
    expect((await fetch(feedback)).status).toBe(200);
    const answer = (rating: string) =>
      fetch(feedback, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ rating, comment: 'On time, careful with the stairs' }),
      });
    expect((await answer('5')).status).toBe(200);
    expect((await answer('1')).status).toBe(409);
    const summary = await expectStatus('feedback', 200, api('GET', '/feedback', admin));
    expect(summary.items).toEqual([
      expect.objectContaining({ orderNumber: delivered.number, rating: 5, warehouses: ['TPL1'], carriers: ['dhl'] }),
    ]);
    expect(summary.summary.byWarehouse).toEqual([
      { warehouseId: 'TPL1', count: 1, average: 5, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } },
    ]);
    expect(summary.summary.byCarrier).toEqual([
      { carrier: 'dhl', count: 1, average: 5, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } },
    ]);
  });
});
