import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { signIn } from '../support/http.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { prepareHub, startEdge, startHub } from '../sync/world.ts';
import { edgeStock, waitForHubOnHand, waitForOrderStatus, waitForPickListEntry } from '../fulfillment/world.ts';

/**
 * The scanner app as warehouse staff use it: Debian's Chromium (headless, driven by playwright-core)
 * against a real edge process enrolled with a real hub. Staff sign in, receive stock with the scan
 * form, and pick, pack and ship an online order from the pick list; the hub sees the order shipped.
 * The Chromium flags are the ones this machine needs (no background networking on a closed network).
 */
const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const sku = 'BROWSER-SOFA';

describe('the scanner app in a browser', () => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let browser: Browser;
  let page: Page;
  let admin = '';
  let storefront = '';
  let staff = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const hubDir = createTempDir('browser-hub');
    const edgeDir = createTempDir('browser-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir });
    const prepared = await prepareHub(hub.baseUrl, [sku]);
    admin = prepared.admin;
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...prepared.credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    cleanup.add('close the browser', () => browser.close());
    page = await browser.newPage();
    // A script error or a CSP refusal would break the app silently for staff: every one fails the test.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Chromium logs every 4xx answer as a failed resource; refusals are the app working as meant.
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('signs staff in and records a receive from the scan form', async () => {
    await page.goto(`${edge.baseUrl}/`);
    await page.fill('#login-form input[name=username]', bootstrapStaff.username);
    await page.fill('#login-form input[name=password]', bootstrapStaff.password);
    await page.click('#login-form button');
    await page.waitForSelector('#work:not([hidden])');
    await expect.poll(() => page.textContent('#status')).toContain(`${bootstrapStaff.username} · supervisor`);

    await page.selectOption('#scan-form select[name=action]', 'receive');
    await page.fill('#scan-form input[name=quantity]', '3');
    await page.fill('#scan-form input[name=bin]', 'A-01');
    await page.fill('#scan-form input[name=sku]', sku);
    await page.click('#scan-form button');
    await expect.poll(() => page.textContent('#scan-message')).toBe(`✓ receive ${sku} recorded`);
    await expect.poll(() => page.textContent('#stock')).toContain('onHand3');
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 3, bins: [{ bin: 'A-01', quantity: 3 }] });
    await waitForHubOnHand(hub.baseUrl, admin, sku, 3);
    expect(pageErrors).toEqual([]);
  });

  it('shows a refusal with its reason and changes nothing', async () => {
    await page.selectOption('#scan-form select[name=action]', 'instore-sale');
    await page.fill('#scan-form input[name=quantity]', '1');
    await page.fill('#scan-form input[name=sku]', sku);
    await page.click('#scan-form button');
    await expect.poll(() => page.textContent('#scan-message')).toMatch(/^✗ in-store quota is 0/);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 3 });
    expect(pageErrors).toEqual([]);
  });

  it('picks, packs and ships an online order from the pick list; the hub sees it shipped', async () => {
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 2 }]);
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    await waitForPickListEntry(edge, staff, placed.id);

    await page.click('#refresh-picks');
    const entry = page.locator('#picks button', { hasText: paid.number });
    await entry.waitFor();
    await entry.click();
    await page.waitForSelector('#fulfill-form:not([hidden])');
    await expect.poll(() => page.textContent('#fulfill-lines')).toContain('0 of 2 picked');

    await page.fill('#fulfill-form input[name=sku]', sku);
    await page.fill('#fulfill-form input[name=quantity]', '2');
    await page.fill('#fulfill-form input[name=bin]', 'A-01');
    await page.click('#fulfill-form button[value=pick]');
    await expect.poll(() => page.textContent('#fulfill-message')).toBe('✓ pick recorded');
    await expect.poll(() => page.textContent('#fulfill-lines')).toContain('2 of 2 picked');

    // Shipping before packing is refused, with the reason on screen.
    await page.fill('#fulfill-form input[name=carrier]', 'DHL Freight');
    await page.fill('#fulfill-form input[name=trackingNumber]', 'JD0146-BROWSER');
    await page.click('#fulfill-form button[value=ship]');
    await expect.poll(() => page.textContent('#fulfill-message')).toBe('✗ pack the order before shipping it');

    await page.fill('#fulfill-form input[name=weightKg]', '68.5');
    await page.fill('#fulfill-form input[name=dimensions]', '225x98x85');
    await page.click('#fulfill-form button[value=pack]');
    await expect.poll(() => page.textContent('#fulfill-message')).toBe('✓ pack recorded');
    await page.click('#fulfill-form button[value=ship]');
    await expect.poll(() => page.textContent('#fulfill-message')).toBe('✓ ship recorded');
    await expect.poll(() => page.textContent('#fulfill-title')).toContain('shipped');

    const shipped = await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    expect(shipped.shipments).toMatchObject([{ carrier: 'DHL Freight', trackingNumber: 'JD0146-BROWSER' }]);
    expect(shipped.fulfillments[0].packages).toEqual([
      { weightGrams: 68_500, lengthMm: 2_250, widthMm: 980, heightMm: 850 },
    ]);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 1, picked: 0 });
    await expect.poll(() => page.textContent('#picks')).toContain('Nothing to pick.');
    expect(pageErrors).toEqual([]);
  });
});
