import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, call, startTestHub, type TestHub } from '../testing/harness.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';

/** Configurable products on both adapters: declared, validated, priced, held, ordered and sent to the warehouse. */
let hub: TestHub;
let token: string;
const receivers: TestReceiver[] = [];

const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
const shippingAddress = { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' };
const configurableOptions = [
  {
    name: 'fabric',
    type: 'choice',
    choices: [
      { value: 'linen', priceDelta: 0 },
      { value: 'boucle', priceDelta: 15_000, leadTimeDays: 21 },
    ],
  },
  { name: 'widthCm', type: 'range', min: 160, max: 280, step: 10, pricePerStep: 2_500, default: 200 },
];
const oslo = {
  name: 'Oslo sofa',
  category: 'sofa',
  basePrice: 129_900,
  currency: 'EUR',
  variants: [
    { sku: 'SOFA-OSLO', options: { color: 'sand' } },
    { sku: 'SOFA-OSLO-VELVET', options: { color: 'green' }, price: 139_900 },
  ],
  configurableOptions,
};
const order = (lines: unknown) =>
  call(hub, 'POST', '/api/v1/orders', { token, body: { customer, shippingAddress, lines } });
const reserved = async (sku: string) =>
  (await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token })).body.reserved as number;

describe.each(['sqlite', 'postgres'] as const)('configurable products on %s', (adapter) => {
  beforeEach(async () => {
    hub = await startTestHub(adapter, {
      webhooks: { allowPrivate: true, pollIntervalMs: 50, retryScheduleMs: [0, 200] },
    });
    token = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'AMS', name: 'AMS', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: oslo })).status).toBe(201);
    for (const sku of ['SOFA-OSLO', 'SOFA-OSLO-VELVET'])
      await call(hub, 'PUT', `/api/v1/warehouses/AMS/inventory/${sku}`, { token, body: { onHand: 5 } });
  });
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
    await hub.dispose();
  });

  it('keeps the options on the product and refuses options that cannot be priced', async () => {
    const listed = await call(hub, 'GET', '/api/v1/products', { token });
    expect(listed.body.items[0].configurableOptions).toEqual(configurableOptions);
    const bad = await call(hub, 'POST', '/api/v1/products', {
      token,
      body: {
        ...oslo,
        variants: [{ sku: 'SOFA-BAD', options: {} }],
        configurableOptions: [{ ...configurableOptions[1], max: 275 }],
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('configurableOptions');
  });

  it('prices a configured order with its breakdown: base + variant + choice + steps above the minimum', async () => {
    const placed = await order([
      { sku: 'SOFA-OSLO', quantity: 1, configuration: { fabric: 'boucle', widthCm: 240 } },
      { sku: 'SOFA-OSLO-VELVET', quantity: 2, configuration: { fabric: 'linen' } },
    ]);
    expect(placed.status).toBe(201);
    expect(placed.body.lines).toEqual([
      {
        sku: 'SOFA-OSLO',
        quantity: 1,
        unitPrice: 164_900,
        configuration: { fabric: 'boucle', widthCm: 240 },
        priceBreakdown: {
          base: 129_900,
          variant: 0,
          options: [
            { option: 'fabric', value: 'boucle', amount: 15_000 },
            { option: 'widthCm', value: 240, amount: 20_000 },
          ],
          unitPrice: 164_900,
          leadTimeDays: 21,
        },
      },
      {
        sku: 'SOFA-OSLO-VELVET',
        quantity: 2,
        unitPrice: 139_900 + 10_000,
        configuration: { fabric: 'linen', widthCm: 200 },
        priceBreakdown: {
          base: 129_900,
          variant: 10_000,
          options: [
            { option: 'fabric', value: 'linen', amount: 0 },
            { option: 'widthCm', value: 200, amount: 10_000 },
          ],
          unitPrice: 149_900,
        },
      },
    ]);
    expect(placed.body.total).toBe(164_900 + 2 * 149_900);
  });

  it('refuses a bad configuration with 400 naming the option, holding nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ fabric: 'velvet', widthCm: 220 }, 'fabric'],
      [{ fabric: 'linen', widthCm: 245 }, 'widthCm'],
      [{ fabric: 'linen', legs: 'oak' }, 'legs'],
      [{ widthCm: 220 }, 'fabric'],
    ];
    for (const [configuration, option] of cases) {
      const refused = await order([{ sku: 'SOFA-OSLO', quantity: 1, configuration }]);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_configuration');
      expect(refused.body.error.message).toContain(option);
      expect(refused.body.error.details).toMatchObject({ sku: 'SOFA-OSLO' });
    }
    // A configurable product ordered with no configuration at all: its choice is missing.
    const bare = await order([{ sku: 'SOFA-OSLO', quantity: 1 }]);
    expect(bare.status).toBe(400);
    expect(bare.body.error.message).toContain('fabric');
    const held = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { lines: [{ sku: 'SOFA-OSLO', quantity: 1, configuration: { fabric: 'tweed' } }] },
    });
    expect(held.status).toBe(400);
    expect(held.body.error.message).toContain('fabric');
    expect(await reserved('SOFA-OSLO')).toBe(0);
  });

  it('keeps a held configuration for the order, and shows it to the warehouse on the fulfillment order', async () => {
    const receiver = await new TestReceiver().start();
    receivers.push(receiver);
    const endpoint = await call(hub, 'POST', '/api/v1/webhooks', {
      token,
      body: { url: receiver.url(), events: ['fulfillment_order.requested'] },
    });
    expect(endpoint.status).toBe(201);
    receiver.secrets = [endpoint.body.secret];
    const held = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { lines: [{ sku: 'SOFA-OSLO', quantity: 1, configuration: { fabric: 'boucle', widthCm: 160 } }] },
    });
    expect(held.status).toBe(201);
    expect(held.body.lines).toEqual([
      { sku: 'SOFA-OSLO', quantity: 1, warehouseId: 'AMS', configuration: { fabric: 'boucle', widthCm: 160 } },
    ]);
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: { customer, shippingAddress, holdId: held.body.id },
    });
    expect(placed.status).toBe(201);
    expect(placed.body.lines[0]).toMatchObject({
      unitPrice: 144_900,
      configuration: { fabric: 'boucle', widthCm: 160 },
    });
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token,
      body: { reference: 'psp_1' },
    });
    expect(paid.status).toBe(200);
    const fulfillmentId = paid.body.fulfillments[0].id;
    const fulfillment = await call(hub, 'GET', `/api/v1/fulfillment-orders/${fulfillmentId}`, { token });
    expect(fulfillment.body.lines).toEqual([
      { sku: 'SOFA-OSLO', quantity: 1, shipped: 0, toShip: 1, configuration: { fabric: 'boucle', widthCm: 160 } },
    ]);
    // A 3PL learns of it by webhook too, the configuration on the line.
    await receiver.waitFor((received) => received.length >= 1);
    expect(receiver.received[0]?.data).toMatchObject({
      id: fulfillmentId,
      lines: [{ sku: 'SOFA-OSLO', quantity: 1, configuration: { fabric: 'boucle', widthCm: 160 } }],
    });
  });
});
