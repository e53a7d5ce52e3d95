import fs from 'node:fs';
import path from 'node:path';
import { TestMailInbox } from '@dovetail/hub/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pickPackShip,
  receive,
  waitForHubOnHand,
  waitForOrderStatus,
  waitForPickListEntry,
} from '../fulfillment/world.ts';
import { launchChromium } from '../support/chromium.ts';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { payOrder, placeOrder, storefrontToken, testCustomer, testShippingAddress } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { prepareHub, startEdge, startHub } from '../sync/world.ts';

/**
 * After the warehouse, as a customer meets it: an order paid at a real hub is picked, packed and
 * shipped at a real edge; a carrier reports scans (one twice, one late); the order reads delivered;
 * the customer's tracking page, loaded in headless Chromium at 360 px, shows the timeline and no
 * personal data, under its CSP with nothing refused (a screenshot is kept in .reports/screenshots);
 * and the customer's inbox, a real SMTP server, holds exactly one message per notification.
 */
const sku = 'TRACK-SOFA';
const screenshots = path.resolve(import.meta.dirname, '..', '..', '.reports', 'screenshots');

describe("the customer's tracking page in a browser", () => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let browser: Browser;
  let admin = '';
  let storefront = '';
  let staff = '';
  const inbox = new TestMailInbox();

  beforeAll(async () => {
    await inbox.start();
    cleanup.add('close the SMTP inbox', () => inbox.close());
    const hubDir = createTempDir('tracking-hub');
    const edgeDir = createTempDir('tracking-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, {
      dataDir: hubDir,
      env: { HUB_SMTP_URL: inbox.url(), HUB_MAIL_FROM: 'Nordhaus <orders@nordhaus.example>' },
    });
    const prepared = await prepareHub(hub.baseUrl, [sku]);
    admin = prepared.admin;
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...prepared.credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
    browser = await launchChromium();
    cleanup.add('close the browser', () => browser.close());
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('follows an order shipped at the edge to delivered, and shows it at 360 px with no personal data', async () => {
    await receive(edge, staff, sku, 2);
    await waitForHubOnHand(hub.baseUrl, admin, sku, 2);
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 1 }]);
    await payOrder(hub.baseUrl, storefront, placed.id);
    const fulfillment = await waitForPickListEntry(edge, staff, placed.id);
    await pickPackShip(edge, staff, fulfillment.id, [{ sku, quantity: 1 }], {
      carrier: 'DHL',
      trackingNumber: 'JD014600009876543210',
    });
    const shipped = await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    const shipmentId = shipped.shipments[0].id as string;

    // Scans come from the carrier's clock, after the shipment; one arrives twice, one late.
    const hour = 3_600_000;
    const at = (hours: number) => new Date(Date.now() + hours * hour).toISOString();
    const scans = [
      { carrierEventId: 'scan-2', status: 'in_transit', occurredAt: at(2), location: 'Venlo hub' },
      { carrierEventId: 'scan-2', status: 'in_transit', occurredAt: at(2), location: 'Venlo hub' },
      {
        carrierEventId: 'scan-4',
        status: 'delivered',
        occurredAt: at(30),
        location: 'Amsterdam',
        description: 'Delivered to the door',
      },
      {
        carrierEventId: 'scan-3',
        status: 'out_for_delivery',
        occurredAt: at(22),
        location: 'Amsterdam depot',
      },
    ];
    const answers: number[] = [];
    for (const scan of scans) {
      const answer = await requestJson(hub.baseUrl, 'POST', `/api/v1/shipments/${shipmentId}/events`, {
        token: admin,
        body: scan,
      });
      answers.push(answer.status);
    }
    expect(answers).toEqual([201, 200, 201, 201]);
    const delivered = await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'delivered');
    expect(delivered.trackingUrl).toMatch(/\/track\/[A-Za-z0-9_-]{22}$/);

    const page = await browser.newPage({ viewport: { width: 360, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    const response = await page.goto(delivered.trackingUrl);
    expect(response?.status()).toBe(200);
    const timeline = await page.locator('section[aria-label=Timeline] li').allTextContents();
    expect(timeline.map((step) => step.replace(/^.*UTC/, ''))).toEqual([
      'Delivered · Amsterdam',
      'Out for delivery · Amsterdam depot',
      'On its way · Venlo hub',
      'Shipped with DHL',
      'Payment confirmed: being prepared',
      'Order placed',
    ]);
    expect(await page.textContent('section[aria-label=Status]')).toContain('Delivered');
    const html = await page.content();
    for (const secret of [testCustomer.email, 'Laurent', testShippingAddress.line1, testShippingAddress.postalCode]) {
      expect(html).not.toContain(secret);
    }
    // The page fits a phone: nothing wider than the viewport.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    fs.mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, 'tracking-page-360.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();

    // The customer's inbox: one message per notification, each link working. The out-for-delivery
    // scan arrived after the delivery, so it announced nothing.
    await inbox.waitFor(3, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // room for a duplicate to show up
    expect(inbox.messages).toHaveLength(3);
    const subjects = inbox.messages.map((mail) => mail.subject.replace(delivered.number, 'N'));
    expect([...subjects].sort()).toEqual([
      'Order N confirmed · Dovetail',
      'Order N has shipped · Dovetail',
      'Order N was delivered · Dovetail',
    ]);
    expect([...inbox.byMessageId().values()]).toEqual([1, 1, 1]);
    const shippedMail = inbox.messages.find((mail) => mail.subject.includes('has shipped'));
    expect(shippedMail?.links).toContain(delivered.trackingUrl);
    for (const link of new Set(inbox.messages.flatMap((mail) => mail.links))) {
      if (!link.startsWith(hub.baseUrl)) continue; // the carrier's own site is not ours to fetch
      expect((await fetch(link)).status, link).toBe(200);
    }
  });
});
