import { describe, expect, it } from 'vitest';
import { checkOrderPatch, isOrderPatchFieldEditable, orderPatchFields } from './patch.ts';
import { orderPatchSchema } from './schemas.ts';
import { type OrderStatus, orderStatuses } from './transitions.ts';

const address = { line1: '3 Long Acre', city: 'London', postalCode: 'WC2E 9LH', country: 'GB' };

describe('which order fields a status still lets PATCH change', () => {
  it('covers every whitelisted field', () => {
    expect([...orderPatchFields].sort()).toEqual(Object.keys(orderPatchSchema.shape).sort());
  });

  it.each(orderStatuses.map((status) => [status, status === 'pending_payment' || status === 'processing'] as const))(
    'lets %s change the shipping address: %s',
    (status, editable) => {
      expect(isOrderPatchFieldEditable(status, 'shippingAddress')).toBe(editable);
    },
  );

  it.each([
    ['packed', { shippingAddress: address }, 'shippingAddress'],
    ['canceled', { customer: { phone: '+44 20 7946 0958' } }, 'customer'],
    ['returned', { billingAddress: address }, 'billingAddress'],
  ] satisfies Array<[OrderStatus, object, string]>)(
    'refuses in %s a patch of %o, naming %s',
    (status, patch, field) => {
      expect(checkOrderPatch(status, orderPatchSchema.parse(patch))).toEqual({
        ok: false,
        reason: 'field_not_editable',
        field,
        status,
      });
    },
  );

  it.each([
    ['processing', { shippingAddress: address, note: 'door code 4711' }],
    ['shipped', { customer: { phone: '+44 20 7946 0958' } }],
    ['expired', { note: 'customer called' }],
  ] satisfies Array<[OrderStatus, object]>)('allows in %s a patch of %o', (status, patch) => {
    expect(checkOrderPatch(status, orderPatchSchema.parse(patch))).toEqual({ ok: true });
  });
});
