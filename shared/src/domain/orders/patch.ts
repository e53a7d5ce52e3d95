import type { OrderPatch } from './schemas.ts';
import { type OrderStatus, isTerminalOrderStatus } from './transitions.ts';

/**
 * Which whitelisted fields an order's status still lets `PATCH /orders/{id}` change. The shipping
 * address is fixed once anything is packed: the edge prints the label at packing (docs/architecture.md, "Ownership"), and
 * allocation chose warehouses by distance to it. In `processing` the fulfillment orders are already
 * at the warehouses, so the hub must pass a changed address on to them. A note may always be added.
 */
export type OrderPatchField = keyof OrderPatch;
export const orderPatchFields = [
  'shippingAddress',
  'billingAddress',
  'customer',
  'note',
] as const satisfies readonly OrderPatchField[];

const shippingAddressEditable: readonly OrderStatus[] = ['pending_payment', 'processing'];

export function isOrderPatchFieldEditable(status: OrderStatus, field: OrderPatchField): boolean {
  switch (field) {
    case 'shippingAddress':
      return shippingAddressEditable.includes(status);
    case 'billingAddress':
    case 'customer':
      return !isTerminalOrderStatus(status);
    case 'note':
      return true;
  }
}

export type OrderPatchCheck =
  | { ok: true }
  | { ok: false; reason: 'field_not_editable'; field: OrderPatchField; status: OrderStatus };

/** The first field (in `orderPatchFields` order) the status no longer allows, or ok. */
export function checkOrderPatch(status: OrderStatus, patch: OrderPatch): OrderPatchCheck {
  for (const field of orderPatchFields) {
    if (patch[field] !== undefined && !isOrderPatchFieldEditable(status, field)) {
      return { ok: false, reason: 'field_not_editable', field, status };
    }
  }
  return { ok: true };
}
