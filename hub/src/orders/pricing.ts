import { DomainError } from '@dovetail/shared';
import type { Transaction } from 'kysely';
import { priceLine, readSkuPricing } from '../catalog/service.ts';
import type { Database } from '../database.ts';
import { holdConfigurations } from '../holds/configured.ts';

/**
 * The order lines of a hold, priced from the catalog (never from the request): each unit at its
 * product's base price, its variant's and, for a configurable product, the configuration kept with
 * the hold (docs/catalog.md) — checked again, since the product may have changed since the hold.
 * Configured lines keep their configuration and price breakdown.
 */
export async function priceHeldLines(
  trx: Transaction<Database>,
  orderId: string,
  holdId: string,
  quantities: ReadonlyMap<string, number>,
) {
  const [pricing, configurations] = await Promise.all([
    readSkuPricing(trx, [...quantities.keys()]),
    holdConfigurations(trx, holdId),
  ]);
  const currencies = new Set([...pricing.values()].map((row) => row.currency));
  if (currencies.size > 1)
    throw new DomainError('unprocessable', 'mixed_currency', 'every line of an order must be priced in one currency');
  let total = 0;
  const lines = [...quantities].map(([sku, quantity], lineNo) => {
    const found = pricing.get(sku);
    const priced = found ? priceLine(found, configurations.get(sku)) : undefined;
    const unitPrice = priced?.breakdown.unitPrice ?? 0;
    total += unitPrice * quantity;
    const configured = priced?.configuration !== undefined;
    return {
      order_id: orderId,
      line_no: lineNo,
      sku,
      quantity,
      unit_price: unitPrice,
      configuration_json: configured ? JSON.stringify(priced.configuration) : null,
      price_json: configured ? JSON.stringify(priced.breakdown) : null,
    };
  });
  return { lines, total, currency: [...currencies][0] ?? 'EUR' };
}
