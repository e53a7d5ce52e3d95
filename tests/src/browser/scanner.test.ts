import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Body,
  edgeStock,
  waitForHubOnHand,
  waitForOrderStatus,
  waitForPickListEntry,
  waitTimeoutMs,
} from '../fulfillment/world.ts';
import { launchChromium } from '../support/chromium.ts';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { payOrder, placeOrder, storefrontToken, testShippingAddress } from '../support/storefront.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import { prepareHub, startEdge, startHub } from '../sync/world.ts';

/**
 * The scanner app as warehouse staff use it, on a 360 px handheld: headless Chromium (support/chromium.ts,
 * driven by playwright-core) against a real edge process whose link to a real hub runs through a
 * TCP proxy the test can cut. Every flow is driven through the page as a person would (scanning is
 * typing the barcode and Enter, as a keyboard-wedge scanner does), and checked at the edge or the
 * hub over HTTP. Each screen is checked by axe-core (no serious or critical violation) and captured
 * at 360 px and 1280 px into tests/.screenshots/. The 1280 px page runs under the app's real
 * Content-Security-Policy and must log no refusal; the 360 px page lets axe-core be injected.
 */
const screenshots = path.resolve(import.meta.dirname, '..', '..', '.screenshots');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const sku = 'OSLO-GREY';
const gtin = '5901234123457';
const label = 'Oslo sofa grey';

describe('the scanner app in a browser', () => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let link: TcpProxy;
  let browser: Browser;
  let handheld: BrowserContext;
  let page: Page;
  let desk: Page;
  let admin = '';
  let storefront = '';
  let staff = '';
  let shippedOrder: Body;
  const pageErrors: string[] = [];
  const cspRefusals: string[] = [];

  /** axe-core on the page as it is now: no serious or critical violation, and a 360 px capture. */
  async function audit(name: string): Promise<void> {
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: Body[] }> } }).axe;
      const result = await axe.run();
      return result.violations
        .filter((v: Body) => v.impact === 'serious' || v.impact === 'critical')
        .map((v: Body) => `${v.id}: ${v.nodes.map((n: Body) => n.target.join(' ')).join(', ')}`);
    });
    expect(violations, `axe on ${name}`).toEqual([]);
    await page.screenshot({ path: path.join(screenshots, `scanner-${name}-360.png`), fullPage: true });
  }

  /** The same screen on a desk's 1280 px browser, under the real CSP. */
  async function wide(name: string, screen: string, ready: string): Promise<void> {
    await desk.goto(`${edge.baseUrl}/#${screen}`);
    await desk.waitForSelector(ready);
    await desk.screenshot({ path: path.join(screenshots, `scanner-${name}-1280.png`), fullPage: true });
  }

  async function scan(input: string, code: string): Promise<void> {
    await page.fill(input, code);
    await page.press(input, 'Enter');
  }

  const text = (selector: string) => page.locator(selector).innerText();
  // In-page expressions as strings: this workspace compiles without the DOM's types.
  const focused = () => page.evaluate<string>('document.activeElement?.id');
  const stored = (key: string) => page.evaluate<string | null>(`sessionStorage.getItem(${JSON.stringify(key)})`);
  /** Polls until the matcher passes: answers come from real processes (a password hash takes a moment). */
  const eventually = <T>(read: () => Promise<T> | T, timeout = 10_000) => expect.poll(read, { timeout, interval: 50 });

  beforeAll(async () => {
    fs.mkdirSync(screenshots, { recursive: true });
    const hubDir = createTempDir('browser-hub');
    const edgeDir = createTempDir('browser-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    // A brand that keeps its catalog strict: a scan of a SKU head office does not list comes back
    // refused, which is how the corrections list is shown below (the default records it, unsellable).
    hub = await startHub(cleanup, { dataDir: hubDir, env: { HUB_UNCATALOGED_STOCK: 'refuse' } });
    const prepared = await prepareHub(hub.baseUrl, ['ARM-CHAIR']);
    admin = prepared.admin;
    const product = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/products', {
      token: admin,
      body: {
        name: 'Oslo sofa',
        category: 'sofa',
        basePrice: 129_900,
        currency: 'EUR',
        variants: [{ sku, gtin, options: { color: 'grey' } }],
      },
    });
    expect(product.status, JSON.stringify(product.body)).toBe(201);
    storefront = await storefrontToken(hub.baseUrl, admin);
    link = await startTcpProxy({ port: hub.port });
    cleanup.add('close the link proxy', () => link.close());
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: link.url, ...prepared.credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
    // The edge has the catalog (with the Oslo sofa) once its first sync is done.
    await waitUntil(
      'the Oslo sofa in the edge catalog',
      async () =>
        (await requestJson(edge.baseUrl, 'GET', `/api/v1/catalog/lookup?code=${sku}`, { token: staff })).status ===
          200 || undefined,
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );

    browser = await launchChromium();
    cleanup.add('close the browser', () => browser.close());
    handheld = await browser.newContext({ viewport: { width: 360, height: 740 }, bypassCSP: true });
    page = await handheld.newPage();
    // A script error would break the app silently for staff: every one fails the test.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Chromium logs 4xx answers and refused connections as failed resources; the app handles those.
      if (message.type() === 'error' && !/status of 4\d\d|net::ERR_/.test(message.text()))
        pageErrors.push(message.text());
    });
    const deskContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    desk = await deskContext.newPage();
    desk.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) cspRefusals.push(message.text());
    });
    desk.on('pageerror', (error) => pageErrors.push(`desk: ${error.message}`));
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('says "checking" while the password is checked, refuses a wrong one at once, then signs in by keyboard', async () => {
    await page.goto(`${edge.baseUrl}/`);
    await page.locator('#username').focus();
    await page.keyboard.type(bootstrapStaff.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password');
    await page.keyboard.press('Enter');
    await eventually(() => text('#signin-message')).toBe('Wrong username or password. Try again.');
    expect(await focused()).toBe('password');
    await audit('sign-in');
    await desk.goto(`${edge.baseUrl}/`);
    await desk.screenshot({ path: path.join(screenshots, 'scanner-sign-in-1280.png'), fullPage: true });

    // While the server hashes, the button says so and cannot be pressed twice.
    await page.keyboard.type(bootstrapStaff.password);
    // The observer is in place before Enter; it keeps what the button said while it was busy.
    await page.evaluate(`{
      const button = document.getElementById('signin-button');
      globalThis.busyLabels = [];
      new MutationObserver(() => {
        if (button.getAttribute('aria-busy') === 'true') globalThis.busyLabels.push(button.textContent + '|' + button.disabled);
      }).observe(button, { attributes: true, childList: true, subtree: true, characterData: true });
    }`);
    await page.keyboard.press('Enter');
    await eventually(() => page.evaluate(() => (globalThis as Body).busyLabels as string[])).toContain(
      'Checking…|true',
    );
    await page.waitForSelector('#screen-scan:not([hidden])');
    await eventually(() => text('#who')).toBe(`${bootstrapStaff.username} · warehouse W1`);
    await eventually(() => text('#banner-line')).toBe('Online: every scan has reached head office');
    expect(await page.locator('#banner').getAttribute('class')).toContain('ok');

    await desk.goto(`${edge.baseUrl}/`);
    await desk.fill('#username', bootstrapStaff.username);
    await desk.fill('#password', bootstrapStaff.password);
    await desk.click('#signin-button');
    await desk.waitForSelector('#screen-scan:not([hidden])');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('receives a GS1 label: GTIN found, lot filled in, confirmed in words with quantity and bin', async () => {
    await page.selectOption('#scan-action', 'receive');
    await scan('#scan-code', `(01)0${gtin}(10)LOT-42`);
    await eventually(() => text('#product-name')).toBe(label);
    expect(await page.inputValue('#scan-lot')).toBe('LOT-42');
    // Enter took the picker to the next field.
    expect(await focused()).toBe('scan-quantity');
    await page.fill('#scan-quantity', '3');
    await scan('#scan-bin', 'A-01');
    await eventually(() => text('#scan-message')).toBe(`✓ 3 × ${label} received into A-01`);
    await eventually(() => text('#stock')).toContain('In stock\n3');
    expect(await text('#stock')).not.toMatch(/onHand|edgeQuota/);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({
      onHand: 3,
      bins: [{ bin: 'A-01', quantity: 3 }],
      lots: [{ lot: 'LOT-42', quantity: 3 }],
    });
    await waitForHubOnHand(hub.baseUrl, admin, sku, 3);
    await eventually(() => text('#recent')).toContain('✓ Recorded and sent to head office');
    await audit('scan');
    await wide('scan', 'scan', '#scan-form');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('moves, counts, marks damaged and transfers out and in, each confirmed in words', async () => {
    const record = async (action: string, fill: Record<string, string>, expected: string) => {
      await page.selectOption('#scan-action', action);
      await scan('#scan-code', sku);
      await eventually(() => text('#product-name')).toBe(label);
      for (const [selector, value] of Object.entries(fill)) {
        if (selector === '#scan-reason') await page.selectOption(selector, value);
        else await page.fill(selector, value);
      }
      await page.click('#scan-submit');
      await eventually(() => text('#scan-message')).toBe(`✓ ${expected}`);
    };
    await record(
      'move',
      { '#scan-quantity': '1', '#scan-bin': 'A-01', '#scan-to-bin': 'B-02' },
      `1 × ${label} moved from A-01 to B-02`,
    );
    await record('count', { '#scan-quantity': '1', '#scan-bin': 'B-02' }, `${label} counted in B-02: 1 (as expected)`);
    await record('damage', { '#scan-quantity': '1', '#scan-bin': 'B-02' }, `1 × ${label} marked damaged in B-02`);
    await record(
      'transfer-out',
      { '#scan-quantity': '1', '#scan-bin': 'A-01', '#scan-warehouse': 'W2', '#scan-transfer': 'TR-100' },
      `1 × ${label} sent to warehouse W2 (transfer TR-100)`,
    );
    await record(
      'transfer-in',
      { '#scan-quantity': '2', '#scan-bin': 'A-01', '#scan-warehouse': 'W2', '#scan-transfer': 'TR-101' },
      `2 × ${label} received from warehouse W2 into A-01`,
    );
    // A supervisor corrects the books: one unit lost, then found again.
    await record(
      'adjust',
      { '#scan-quantity': '-1', '#scan-reason': 'lost', '#scan-bin': 'A-01' },
      `Stock of ${label} corrected by -1 in A-01 (lost)`,
    );
    await record(
      'adjust',
      { '#scan-quantity': '1', '#scan-reason': 'found', '#scan-bin': 'A-01' },
      `Stock of ${label} corrected by +1 in A-01 (found)`,
    );
    expect(await edgeStock(edge, staff, sku)).toMatchObject({
      onHand: 4,
      damaged: 1,
      bins: expect.arrayContaining([
        { bin: 'A-01', quantity: 3 },
        { bin: 'B-02', quantity: 1 },
      ]),
    });
    // A move with no destination is stopped on the handheld, with the field to fix.
    await page.selectOption('#scan-action', 'move');
    await scan('#scan-code', sku);
    await page.fill('#scan-to-bin', '');
    await page.click('#scan-submit');
    await eventually(() => text('#scan-message')).toBe('✗ Scan the bin the units go to.');
    expect(await focused()).toBe('scan-to-bin');
    await waitForHubOnHand(hub.baseUrl, admin, sku, 4);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('sells in store within the allowance and refuses beyond it, in words', async () => {
    const granted = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/warehouses/W1/quotas/grant', {
      token: admin,
      body: { sku, quantity: 1 },
    });
    expect(granted.status, JSON.stringify(granted.body)).toBeLessThan(300);
    await waitUntil(
      'the in-store allowance at the edge',
      async () => (await edgeStock(edge, staff, sku)).edgeQuota === 1 || undefined,
      {
        timeoutMs: waitTimeoutMs,
        intervalMs: 100,
      },
    );
    await page.selectOption('#scan-action', 'instore-sale');
    await scan('#scan-code', sku);
    await eventually(() => text('#stock')).toContain('In-store allowance\n1');
    await page.fill('#scan-quantity', '1');
    await page.fill('#scan-bin', 'A-01');
    await page.click('#scan-submit');
    await eventually(() => text('#scan-message')).toBe(`✓ 1 × ${label} sold in store; in-store allowance left: 0`);
    await scan('#scan-code', sku);
    await page.click('#scan-submit');
    await eventually(() => text('#scan-message')).toBe(
      '✗ Not recorded. This store has no in-store allowance left for this product. Ask head office for more in-store allowance, or sell it online.',
    );
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 3, edgeQuota: 0 });
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('picks by bin, packs and ships an order showing where it goes; the ship form is cleared after', async () => {
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 2 }]);
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    await waitForPickListEntry(edge, staff, placed.id);

    await page.click('a[href="#pick"]');
    await page.click('#refresh-picks');
    const entry = page.locator('#picks li', { hasText: `Order ${paid.number}` });
    await entry.waitFor();
    expect(await entry.innerText()).toContain(`Ships to ${testShippingAddress.city}`);
    expect(await entry.innerText()).toContain('0 of 2 units picked');
    expect(await entry.innerText()).toContain('Starts at bin A-01');
    await audit('pick-list');
    await wide('pick-list', 'pick', '#picks li');

    await entry.getByRole('button', { name: `Open order ${paid.number}` }).click();
    await page.waitForSelector('#order:not([hidden])');
    expect(await text('#order-shipto')).toContain(testShippingAddress.city);
    expect(await text('#order-shipto')).toContain('carrier');
    expect(await text('#order-next')).toBe(`Next: go to bin A-01 and pick 2 × ${label}.`);
    expect(await text('#order-lines')).toContain('2 left to pick (0 of 2 picked)');
    expect(await page.inputValue('#pick-bin')).toBe('A-01');
    await audit('order');
    await desk.getByRole('button', { name: `Open order ${paid.number}` }).click();
    await desk.waitForSelector('#order:not([hidden])');
    await desk.screenshot({ path: path.join(screenshots, 'scanner-order-1280.png'), fullPage: true });

    // A product that is not on the order is caught on the handheld.
    await scan('#pick-code', 'ARM-CHAIR');
    await eventually(() => text('#order-message')).toContain(`is not on order ${paid.number}`);
    await scan('#pick-code', gtin);
    await eventually(() => text('#order-message')).toBe(
      `✓ 2 × ${label} picked from A-01 for order ${paid.number} (line complete)`,
    );
    await eventually(() => text('#order-lines')).toContain('All 2 picked');

    await page.fill('#parcel-1-weightKg', '68.5');
    await page.fill('#parcel-1-lengthCm', '225');
    await page.fill('#parcel-1-widthCm', '98');
    await page.fill('#parcel-1-heightCm', '85');
    await page.click('#pack-form button[type=submit]');
    await eventually(() => text('#order-message')).toBe(`✓ Order ${paid.number} packed in 1 parcel`);

    await page.fill('#ship-carrier', 'DHL Freight');
    await page.fill('#ship-tracking', 'JD0146-BROWSER');
    await page.click('#ship-form button[type=submit]');
    await eventually(() => text('#order-message')).toBe(
      `✓ Order ${paid.number} shipped with DHL Freight, tracking JD0146-BROWSER`,
    );
    expect(await page.inputValue('#ship-carrier')).toBe('');
    expect(await page.inputValue('#ship-tracking')).toBe('');
    await eventually(() => text('#order-next')).toBe('Shipped.');

    shippedOrder = await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    expect(shippedOrder.shipments).toMatchObject([{ carrier: 'DHL Freight', trackingNumber: 'JD0146-BROWSER' }]);
    expect(shippedOrder.fulfillments[0].packages).toEqual([
      { weightGrams: 68_500, lengthMm: 2_250, widthMm: 980, heightMm: 850 },
    ]);
    await page.click('#back-to-picks');
    await eventually(() => text('#picks')).toContain('Nothing to pick right now.');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('receives an expected return with a disposition per unit', async () => {
    const requested = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/orders/${shippedOrder.id}/return`, {
      token: storefront,
      body: { lines: [{ sku, quantity: 2, reason: 'changed_mind' }] },
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    let rma = requested.body;
    if (rma.status === 'requested') {
      const authorized = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/returns/${rma.id}/authorize`, {
        token: admin,
        body: {},
      });
      expect(authorized.status).toBe(200);
      rma = authorized.body;
    }
    await waitUntil(
      `return ${rma.number} expected at the edge`,
      async () => {
        const listed = await requestJson<Body>(edge.baseUrl, 'GET', '/api/v1/returns?status=expected', {
          token: staff,
        });
        return (listed.body.items as Body[]).some((item) => item.id === rma.id) || undefined;
      },
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );
    const before = await edgeStock(edge, staff, sku);

    await page.click('a[href="#returns"]');
    await page.click('#refresh-returns');
    const entry = page.locator('#returns li', { hasText: `Return ${rma.number}` });
    await entry.waitFor();
    expect(await entry.innerText()).toContain(`2 × ${label}`);
    await audit('returns');
    await wide('returns', 'returns', '#returns li');
    await entry.getByRole('button', { name: `Receive return ${rma.number}` }).click();
    await page.waitForSelector('#return-form:not([hidden])');
    await page.getByLabel('Back on the shelf').fill('1');
    await page.getByLabel('Damaged').fill('1');
    await page.getByLabel('Put in bin').fill('r-01');
    await audit('return-receive');
    await desk.getByRole('button', { name: `Receive return ${rma.number}` }).click();
    await desk.waitForSelector('#return-form:not([hidden])');
    await desk.screenshot({ path: path.join(screenshots, 'scanner-return-receive-1280.png'), fullPage: true });
    await page.click('#return-form button[type=submit]');
    await eventually(() => text('#return-message')).toBe(
      `✓ Return ${rma.number} received. ${label}: 1 back on the shelf in R-01, 1 damaged`,
    );
    await eventually(() => text('#returns')).toContain('No returns are expected here right now.');
    expect(await edgeStock(edge, staff, sku)).toMatchObject({
      onHand: before.onHand + 2,
      damaged: before.damaged + 1,
    });
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('shows a scan head office refused as refused, in the corrections list with the reason and what to do', async () => {
    await page.click('a[href="#scan"]');
    await page.selectOption('#scan-action', 'receive');
    await scan('#scan-code', 'GHOST-SOFA-9');
    await eventually(() => text('#product-name')).toContain('not in the catalog yet');
    await page.fill('#scan-quantity', '2');
    await scan('#scan-bin', 'A-09');
    // Recorded at the warehouse first (the hub's refusal may already have turned the ✓ into ✗)…
    await eventually(() => text('#scan-message')).toMatch(/^[✓✗] 2 × GHOST-SOFA-9 received into A-09/);
    // …then refused by the hub: the confirmation no longer says ✓, the banner says so, the list explains.
    await eventually(() => text('#scan-message'), 15_000).toMatch(
      /^✗ 2 × GHOST-SOFA-9 received into A-09, but head office refused it: Head office does not know/,
    );
    await eventually(() => text('#recent')).toContain('✗ Refused by head office.');
    await eventually(() => text('#banner-refused')).toBe('1 scan was refused by head office: see what to correct');
    await page.click('#banner-refused');
    await page.waitForSelector('#screen-sync:not([hidden])');
    const refused = page.locator('#refused li');
    await eventually(() => refused.count()).toBe(1);
    const item = await refused.innerText();
    expect(item).toContain('GHOST-SOFA-9');
    expect(item).toContain('Head office does not know this product code.');
    expect(item).toContain("Head office said: “GHOST-SOFA-9 is not in the hub's catalog");
    expect(item).toContain('What to do: Check the label.');
    expect(await text('#sync-facts')).not.toMatch(/acked|upstream|#\d/);
    await audit('sync');
    await wide('sync', 'sync', '#refused li');
    expect(cspRefusals).toEqual([]);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('shows the link to head office going down, the scans waiting, and their sending once it is back', async () => {
    await page.click('a[href="#scan"]');
    link.cut({ refuse: true });
    await eventually(() => text('#banner-line'), 15_000).toBe('Offline from head office: 0 scans waiting to be sent');
    await page.selectOption('#scan-action', 'receive');
    await scan('#scan-code', sku);
    await page.fill('#scan-quantity', '1');
    await scan('#scan-bin', 'A-01');
    await eventually(() => text('#scan-message')).toBe(`✓ 1 × ${label} received into A-01`);
    await eventually(() => text('#banner-line')).toBe('Offline from head office: 1 scan waiting to be sent');
    expect(await text('#banner-detail')).toMatch(
      /scans are saved here and sent when the link is back\. Last contact with head office/,
    );
    expect(await text('#recent')).toContain('✓ Recorded here, waiting to be sent to head office');
    await audit('offline');

    link.heal();
    await eventually(() => text('#banner-line'), 30_000).toBe('Online: every scan has reached head office');
    await eventually(() => page.locator('#recent li').first().innerText()).toContain(
      '✓ Recorded and sent to head office',
    );
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('ends an expired or revoked session back at sign-in with a message', async () => {
    const token = await stored('dovetail-token');
    expect((await requestJson(edge.baseUrl, 'POST', '/api/v1/logout', { token: token ?? '' })).status).toBe(204);
    await page.click('a[href="#pick"]');
    await page.waitForSelector('#screen-signin:not([hidden])');
    expect(await text('#signin-note')).toBe('Your session has ended. Sign in again to carry on.');
    await page.fill('#username', bootstrapStaff.username);
    await page.fill('#password', bootstrapStaff.password);
    await page.click('#signin-button');
    await page.waitForSelector('#screen-pick:not([hidden])');
  });

  it('reloads while the handheld is offline, keeps scans made meanwhile and records them once it is back', async () => {
    await page.click('a[href="#scan"]');
    const before = await edgeStock(edge, staff, sku);
    await handheld.setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('#screen-scan:not([hidden])');
      await eventually(() => text('#banner-line')).toBe('No connection to the warehouse server');
      await page.selectOption('#scan-action', 'receive');
      await scan('#scan-code', sku);
      await eventually(() => text('#product-name')).toBe(`${label} (checked when the warehouse server is back)`);
      await page.fill('#scan-quantity', '2');
      await scan('#scan-bin', 'A-01');
      await eventually(() => text('#scan-message')).toBe(
        `⏳ Kept on this handheld: 2 × ${label} received into A-01. It is recorded when the warehouse server is back.`,
      );
      await eventually(() => text('#banner-detail')).toContain('(1 scan kept now)');
      expect(await page.locator('#recent li').first().innerText()).toContain('⏳ Kept on this handheld');
      // A GS1 label cannot be looked up without the edge: the handheld says what to do instead.
      await scan('#scan-code', `(01)0${gtin}`);
      await eventually(() => text('#product-name')).toBe(
        'Barcodes cannot be looked up without the warehouse server: type the product code.',
      );
      await audit('no-server');
      // Still offline, a reload keeps the scan waiting on the handheld.
      await page.reload();
      await page.waitForSelector('#screen-scan:not([hidden])');
      expect(await page.locator('#recent li').first().innerText()).toContain('⏳ Kept on this handheld');
      // Signing out would lose it: the first press says so and keeps the session.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await eventually(() => text('#scan-message')).toBe(
        '1 scan is not yet recorded on the warehouse server. Reconnect to send it, or press Sign out again to throw it away.',
      );
      expect(await page.locator('#screen-scan').isVisible()).toBe(true);
    } finally {
      await handheld.setOffline(false);
    }
    await eventually(() => page.locator('#recent li').first().innerText(), 15_000).toMatch(/✓ Recorded/);
    await eventually(() => text('#banner-line'), 15_000).toMatch(/^Online/);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: before.onHand + 2 });
    // Sent once: another poll does not record it again.
    await eventually(() => text('#banner-line'), 15_000).toBe('Online: every scan has reached head office');
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: before.onHand + 2 });
  });

  it('reads a barcode with the camera where the browser offers BarcodeDetector', async () => {
    // Headless Chromium on Linux has no BarcodeDetector and no camera: both are stood in for by a
    // detector that always sees one GS1 DataMatrix and a blank canvas as the camera.
    await page.addInitScript(`
      window.BarcodeDetector = class {
        static async getSupportedFormats() { return ['data_matrix', 'ean_13']; }
        async detect() { return [{ rawValue: '(01)0${gtin}(21)SN-CAM-1', format: 'data_matrix' }]; }
      };
      navigator.mediaDevices.getUserMedia = async () => {
        const canvas = document.createElement('canvas');
        canvas.getContext('2d').fillRect(0, 0, 64, 48);
        return canvas.captureStream(5);
      };
    `);
    await page.reload();
    await page.waitForSelector('#screen-scan:not([hidden])');
    await page.selectOption('#scan-action', 'receive');
    await page.getByRole('button', { name: 'Scan the product with the camera' }).click();
    await eventually(() => text('#product-name')).toBe(label);
    expect(await page.locator('#camera-dialog').isVisible()).toBe(false);
    expect(await page.inputValue('#scan-serials')).toBe('SN-CAM-1');
    await page.fill('#scan-quantity', '1');
    await scan('#scan-bin', 'A-01');
    await eventually(() => text('#scan-message')).toBe(`✓ 1 × ${label} received into A-01`);
    expect((await edgeStock(edge, staff, sku)).serials).toContain('SN-CAM-1');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('signs out, leaving nothing of the session on the handheld', async () => {
    const token = await stored('dovetail-token');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('#screen-signin:not([hidden])');
    expect(await text('#signin-note')).toBe('You are signed out. The next person can sign in.');
    expect(await page.locator('#tabs').isHidden()).toBe(true);
    expect(await stored('dovetail-token')).toBeNull();
    expect(await stored('dovetail-recent')).toBeNull();
    expect((await requestJson(edge.baseUrl, 'GET', '/api/v1/me', { token: token ?? '' })).status).toBe(401);
    await page.reload();
    await page.waitForSelector('#screen-signin:not([hidden])');
    expect(cspRefusals).toEqual([]);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });
});
