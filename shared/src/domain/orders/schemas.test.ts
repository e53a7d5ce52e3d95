import { describe, expect, it } from 'vitest';
import {
  addressSchema,
  countryCodes,
  customerSchema,
  orderCancelSchema,
  orderCreateSchema,
  orderPatchSchema,
  orderPaymentSchema,
  orderStatusUpdateSchema,
} from './schemas.ts';

const paris = { line1: '12 rue de Rivoli', city: 'Paris', postalCode: '75004', country: 'FR' };
const customer = { email: 'ada@example.com', name: 'Ada Lovelace' };
const holdId = '019a8c3e-7a10-7c4e-9b1a-2f3d4e5f6a7b';

function issuePaths(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }): string[] {
  return (result.error?.issues ?? []).map((issue) => issue.path.map(String).join('.'));
}

describe('POST /orders body', () => {
  it.each([
    ['from a hold', { holdId, customer, shippingAddress: paris }],
    [
      'from lines',
      {
        lines: [
          { sku: 'SOFA-3S-SAND', quantity: 1 },
          { sku: 'CHAIR-OAK', quantity: 6 },
        ],
        customer,
        shippingAddress: paris,
      },
    ],
    [
      'with a phone, a billing address and a location',
      {
        holdId,
        customer: { ...customer, phone: '+33 1 42 68 53 00' },
        shippingAddress: { ...paris, line2: 'Bâtiment B', location: { lat: 48.8556, lon: 2.3596 } },
        billingAddress: { line1: '1 Main St', city: 'Austin', region: 'TX', postalCode: '78701', country: 'US' },
      },
    ],
  ])('accepts an order %s', (_name, body) => {
    expect(orderCreateSchema.safeParse(body).success).toBe(true);
  });

  it.each([
    [
      'both a hold and lines',
      { holdId, lines: [{ sku: 'CHAIR-OAK', quantity: 1 }], customer, shippingAddress: paris },
      'holdId',
    ],
    ['neither a hold nor lines', { customer, shippingAddress: paris }, 'lines'],
    [
      'the same SKU on two lines',
      {
        lines: [
          { sku: 'CHAIR-OAK', quantity: 1 },
          { sku: 'CHAIR-OAK', quantity: 2 },
        ],
        customer,
        shippingAddress: paris,
      },
      'lines',
    ],
    ['no lines', { lines: [], customer, shippingAddress: paris }, 'lines'],
    [
      'a zero quantity',
      { lines: [{ sku: 'CHAIR-OAK', quantity: 0 }], customer, shippingAddress: paris },
      'lines.0.quantity',
    ],
    ['a status field', { holdId, customer, shippingAddress: paris, status: 'processing' }, ''],
    ['a bad e-mail', { holdId, customer: { ...customer, email: 'ada' }, shippingAddress: paris }, 'customer.email'],
    ['a blank name', { holdId, customer: { ...customer, name: '   ' }, shippingAddress: paris }, 'customer.name'],
    ['a hold id that is not a UUID', { holdId: 'hold-1', customer, shippingAddress: paris }, 'holdId'],
    ['no shipping address', { holdId, customer }, 'shippingAddress'],
  ])('refuses an order with %s, naming the field', (_name, body, path) => {
    const result = orderCreateSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(path);
  });

  it('refuses more lines than the limit', () => {
    const lines = Array.from({ length: 101 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 }));
    expect(orderCreateSchema.safeParse({ lines, customer, shippingAddress: paris }).success).toBe(false);
    expect(orderCreateSchema.safeParse({ lines: lines.slice(0, 100), customer, shippingAddress: paris }).success).toBe(
      true,
    );
  });
});

describe('addresses', () => {
  it('knows the 249 assigned ISO 3166-1 alpha-2 codes, each once', () => {
    expect(countryCodes).toHaveLength(249);
    expect(new Set(countryCodes).size).toBe(249);
  });

  it.each([['FR'], ['GB'], ['US'], ['SS'], ['CW']])('accepts country %s', (country) => {
    expect(addressSchema.safeParse({ ...paris, country }).success).toBe(true);
  });

  it.each([['fr'], ['UK'], ['EU'], ['XK'], ['ZZ'], ['FRA']])('refuses country %s', (country) => {
    expect(issuePaths(addressSchema.safeParse({ ...paris, country }))).toContain('country');
  });

  it.each([
    ['a latitude beyond the pole', { lat: 91, lon: 0 }, 'location.lat'],
    ['a longitude beyond the antimeridian', { lat: 0, lon: -181 }, 'location.lon'],
    ['a latitude without a longitude', { lat: 48.8 }, 'location.lon'],
  ])('refuses %s', (_name, location, path) => {
    expect(issuePaths(addressSchema.safeParse({ ...paris, location }))).toContain(path);
  });

  it('refuses unknown fields and missing required ones', () => {
    expect(issuePaths(addressSchema.safeParse({ ...paris, street: 'x' }))).toContain('');
    const { postalCode: _, ...noPostalCode } = paris;
    expect(issuePaths(addressSchema.safeParse(noPostalCode))).toContain('postalCode');
  });
});

describe('customer phone numbers', () => {
  it.each([['+33 1 42 68 53 00'], ['(555) 010-0199'], ['0612345678'], ['+44.20.7946.0958']])('accepts %s', (phone) => {
    expect(customerSchema.safeParse({ ...customer, phone }).success).toBe(true);
  });

  it.each([['12345'], ['+1234567890123456'], ['call me'], ['+33 1 42 68 53 00 ext 2'], ['-0612345678']])(
    'refuses %s',
    (phone) => {
      expect(issuePaths(customerSchema.safeParse({ ...customer, phone }))).toContain('phone');
    },
  );
});

describe('PATCH /orders/{id} body', () => {
  it.each([
    ['a shipping address', { shippingAddress: paris }],
    ['a phone number', { customer: { phone: '+33 6 12 34 56 78' } }],
    ['a note', { note: 'leave with the concierge' }],
  ])('accepts %s', (_name, body) => {
    expect(orderPatchSchema.safeParse(body).success).toBe(true);
  });

  it.each([
    ['the customer e-mail', { customer: { email: 'eve@example.com' } }],
    ['the lines', { lines: [{ sku: 'CHAIR-OAK', quantity: 9 }] }],
    ['the status', { status: 'delivered' }],
    ['nothing', {}],
    ['an empty customer', { customer: {} }],
  ])('refuses a patch of %s', (_name, body) => {
    expect(orderPatchSchema.safeParse(body).success).toBe(false);
  });
});

describe('status, payment and cancel bodies', () => {
  it('lets staff set a status the hub owns, with a reason', () => {
    expect(orderStatusUpdateSchema.parse({ status: 'delivered', reason: 'signed for at the door' })).toEqual({
      status: 'delivered',
      reason: 'signed for at the door',
    });
  });

  it.each([['shipped'], ['packed'], ['canceled'], ['expired'], ['processing']])(
    'refuses staff setting %s by hand',
    (status) => {
      expect(issuePaths(orderStatusUpdateSchema.safeParse({ status }))).toContain('status');
    },
  );

  it('requires a payment reference and nothing else', () => {
    expect(orderPaymentSchema.safeParse({ reference: 'pi_3Nx' }).success).toBe(true);
    expect(orderPaymentSchema.safeParse({}).success).toBe(false);
    expect(orderPaymentSchema.safeParse({ reference: 'pi_3Nx', amount: 100 }).success).toBe(false);
  });

  it('takes an optional cancel reason, bounded', () => {
    expect(orderCancelSchema.safeParse({}).success).toBe(true);
    expect(orderCancelSchema.safeParse({ reason: 'changed my mind' }).success).toBe(true);
    expect(orderCancelSchema.safeParse({ reason: 'x'.repeat(501) }).success).toBe(false);
  });
});
