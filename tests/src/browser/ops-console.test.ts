import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TestReceiver } from '@dovetail/hub/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receive, waitForHubOnHand, waitForPickListEntry } from '../fulfillment/world.ts';
import { launchChromium } from '../support/chromium.ts';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { prepareHub, startEdge, startHub, warehouseId } from '../sync/world.ts';

/**
 * The hub's operations console as the people who run the operation use it, in Chromium against a
 * real hub and a real edge process: staff sign in at /ops, find an order stuck at its warehouse,
 * retry a webhook delivery that failed (the receiver fails twice, then accepts), and watch the
 * edge go offline when its process stops, without reloading the page. Each page is checked with
 * axe-core and captured at 360 px and 1280 px in tests/.screenshots/ (gitignored).
 */
const sku = 'OPS-SOFA';
const opsStaff = { username: 'olga', password: 'olga-password-123' };
const screenshots = path.resolve(import.meta.dirname, '..', '..', '.screenshots');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
type Body = any;

/** Signs in through the console's own form. */
async function signInToConsole(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/ops`);
  await page.getByLabel('Username').fill(opsStaff.username);
  await page.getByLabel('Password').fill(opsStaff.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** axe-core's serious and critical findings on the page, as "rule: target" lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: Body[] }> } }).axe;
    const result = await axe.run();
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node: Body) => node.target.join(' ')).join(', ')}`);
  });
}

describe('the operations console in a browser', () => {
  const cleanup = new Cleanup();
  const receiver = new TestReceiver();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin = '';
  let endpointId = '';
  let orderNumber = '';
  let orderId = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(screenshots, { recursive: true });
    const hubDir = createTempDir('ops-hub');
    const edgeDir = createTempDir('ops-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    await receiver.start();
    cleanup.add('close the receiver', () => receiver.close());
    // Every fulfillment request counts as overdue at once: the stuck list is what is under test.
    hub = await startHub(cleanup, {
      dataDir: hubDir,
      env: { HUB_WEBHOOK_ALLOW_PRIVATE: '1', HUB_OPS_FULFILLMENT_OVERDUE_HOURS: '0' },
    });
    const prepared = await prepareHub(hub.baseUrl, [sku]);
    admin = prepared.admin;
    const created = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/staff', {
      token: admin,
      body: { ...opsStaff, role: 'admin', warehouses: [] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...prepared.credentials } });
    const staff = await signIn(edge.baseUrl, bootstrapStaff);
    await receive(edge, staff, sku, 4);
    await waitForHubOnHand(hub.baseUrl, admin, sku, 4);

    // An order paid and sent to the edge, which nobody packs: stuck at its warehouse.
    const storefront = await storefrontToken(hub.baseUrl, admin);
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 1 }]);
    orderNumber = (await payOrder(hub.baseUrl, storefront, placed.id)).number;
    orderId = placed.id;
    await waitForPickListEntry(edge, staff, placed.id);

    // A webhook endpoint whose receiver fails the first two attempts; the third (the retry) succeeds.
    receiver.answer = (_request, nth) => (nth < 2 ? { status: 503 } : { status: 200 });
    const endpoint = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: receiver.url(), events: ['order.created'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    endpointId = endpoint.body.id;
    receiver.secrets = [endpoint.body.secret];
    const ping = await requestJson(hub.baseUrl, 'POST', `/api/v1/webhooks/${endpointId}/test`, {
      token: admin,
      body: {},
    });
    expect(ping.status).toBe(202);
    await receiver.waitFor((received) => received.length >= 2, 60_000);

    browser = await launchChromium();
    cleanup.add('close the browser', () => browser.close());
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // The console runs under its CSP: a refused script or style, or a script error, fails the test.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('signs staff in at /ops and out again', async () => {
    await page.goto(`${hub.baseUrl}/ops/orders`);
    expect(new URL(page.url()).pathname).toBe('/ops/sign-in');
    await page.getByLabel('Username').fill(opsStaff.username);
    await page.getByLabel('Password').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong username or password');
    await page.getByLabel('Password').fill(opsStaff.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ops/orders');
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'dovetail_ops')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.goto(`${hub.baseUrl}/ops`);
    expect(new URL(page.url()).pathname).toBe('/ops/sign-in');
    await signInToConsole(page, hub.baseUrl);
    expect(pageErrors).toEqual([]);
  });

  it('finds the order stuck at its warehouse', async () => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Orders' }).click();
    const stuck = page.getByRole('table', { name: /need a person/ });
    const row = stuck.getByRole('row', { name: new RegExp(orderNumber) });
    await row.waitFor();
    expect(await row.textContent()).toContain('Sent to its warehouse, not packed yet');
    expect(await row.textContent()).toContain(warehouseId);
    await row.getByRole('link', { name: orderNumber }).click();
    await page.getByRole('heading', { name: `Order ${orderNumber}`, level: 1 }).waitFor();
    const fulfillment = page.getByRole('table', { name: 'Fulfillment requests per warehouse' });
    expect(await fulfillment.textContent()).toContain('Sent to the warehouse');
    expect(pageErrors).toEqual([]);
  });

  it('retries a failed webhook delivery, which then arrives', async () => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
    const endpoints = page.getByRole('table', { name: /endpoints/ });
    expect(await endpoints.getByRole('row').filter({ hasText: receiver.url() }).textContent()).toContain('Failing');
    const retry = page.getByRole('button', { name: /Retry delivery .* \(ping\)/ });
    await page.screenshot({ path: path.join(screenshots, 'ops-webhooks-failing-1280.png'), fullPage: true });
    await retry.click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/is being sent again now/);
    await receiver.waitFor((received) => received.length >= 3, 30_000);
    await expect
      .poll(async () => {
        const now = await requestJson<Body>(hub.baseUrl, 'GET', `/api/v1/webhooks/${endpointId}/deliveries`, {
          token: admin,
        });
        return now.body.items.map((item: Body) => item.status);
      })
      .toEqual(['succeeded']);
    await page.reload();
    await page.getByText('No delivery is failing.').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('shows the edge offline within 10 s of its process stopping, without a reload', async () => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Edges' }).click();
    const row = page.getByRole('table', { name: /edges/i }).getByRole('row', { name: new RegExp(warehouseId) });
    await expect.poll(() => row.textContent()).toContain('Online');
    const exit = await edge.stop();
    expect(exit.code).toBe(0);
    await row.getByText('Offline').waitFor({ timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  });

  it('has no serious accessibility violation on any page, captured at 360 and 1280 px', async () => {
    // axe is injected as a script tag, which the console's CSP refuses by design: this context bypasses it.
    const audit = await browser.newContext({ bypassCSP: true });
    const auditPage = await audit.newPage();
    const findings: string[] = [];
    await auditPage.setViewportSize({ width: 360, height: 740 });
    await auditPage.goto(`${hub.baseUrl}/ops`);
    for (const [name, url] of [
      ['home', '/'],
      ['sign-in', '/ops/sign-in'],
    ] as const) {
      await auditPage.goto(`${hub.baseUrl}${url}`);
      for (const width of [360, 1280]) {
        await auditPage.setViewportSize({ width, height: width === 360 ? 740 : 900 });
        await auditPage.screenshot({ path: path.join(screenshots, `ops-${name}-${width}.png`), fullPage: true });
      }
      findings.push(...(await seriousViolations(auditPage)).map((finding) => `${name}: ${finding}`));
    }
    await signInToConsole(auditPage, hub.baseUrl);
    const pages = [
      ['overview', '/ops'],
      ['stock', '/ops/stock'],
      ['holds', `/ops/stock/holds?sku=${sku}`],
      ['edges', '/ops/edges'],
      ['orders', '/ops/orders?status=processing'],
      ['order', `/ops/orders/${orderId}`],
      ['shortages', '/ops/shortages'],
      ['webhooks', '/ops/webhooks'],
    ] as const;
    for (const [name, url] of pages) {
      const response = await auditPage.goto(`${hub.baseUrl}${url}`);
      expect(response?.status(), name).toBe(200);
      expect(response?.headers()['content-security-policy'], name).toContain("frame-ancestors 'none'");
      for (const width of [360, 1280]) {
        await auditPage.setViewportSize({ width, height: width === 360 ? 740 : 900 });
        await auditPage.screenshot({ path: path.join(screenshots, `ops-${name}-${width}.png`), fullPage: true });
      }
      findings.push(...(await seriousViolations(auditPage)).map((finding) => `${name}: ${finding}`));
    }
    await audit.close();
    expect(findings).toEqual([]);
    expect(fs.existsSync(path.join(screenshots, 'ops-edges-360.png'))).toBe(true);
  });
});
