import { assert } from '../../assert.ts';
import * as limits from '../../limits.ts';
import type { warehouseKinds } from '../catalog/schemas.ts';
import type { GeoPoint } from '../orders/schemas.ts';
import { haversineKm } from './geo.ts';

/**
 * What every allocation strategy takes and returns (docs/architecture.md, "Orders"). Pure: the hub reads the
 * candidates, calls a strategy, and then commits the result in the same transaction that proves
 * `available ≥ qty` again (a strategy's answer is a plan, not a reservation).
 */
export type AllocationLine = { sku: string; quantity: number };

export type CandidateWarehouse = {
  id: string;
  kind: (typeof warehouseKinds)[number];
  location: GeoPoint;
  /**
   * Units per SKU this warehouse can promise online: `available` (docs/architecture.md, "Quantities"), which already
   * subtracts the edge's in-store quota (`availableUnits` in domain/stock/quantities.ts). Never
   * add the quota back: the edge may be selling those units offline right now. A missing SKU is 0;
   * a negative value (a shortage) counts as 0.
   */
  available: Readonly<Record<string, number>>;
};

export type AllocationRequest = {
  lines: readonly AllocationLine[];
  warehouses: readonly CandidateWarehouse[];
  /** The shipping address's location; without it every warehouse is equally near and ids break ties. */
  destination?: GeoPoint;
};

export type WarehouseAllocation = { warehouseId: string; lines: AllocationLine[] };

export type AllocationResult =
  | { ok: true; allocations: WarehouseAllocation[] }
  | { ok: false; reason: 'insufficient_stock'; line: { sku: string; quantity: number; available: number } };

export type AllocationStrategy = (request: AllocationRequest) => AllocationResult;

/** A candidate as strategies see it: its distance and its usable stock of each requested line. */
export type RankedWarehouse = { id: string; distanceKm: number; stock: readonly number[] };

export type PreparedRequest = {
  lines: readonly AllocationLine[];
  /** Sorted by distance, then id (code-unit order, not locale): the one order every tie is broken by. */
  warehouses: readonly RankedWarehouse[];
  /** Per line: does at least one warehouse hold its whole quantity? Only lines without one are split. */
  wholeSomewhere: readonly boolean[];
};

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks the request (a malformed one is a programmer error), ranks warehouses, and fails a short line. */
export function prepareRequest(
  request: AllocationRequest,
): { ok: true; prepared: PreparedRequest } | Extract<AllocationResult, { ok: false }> {
  const { lines, warehouses, destination } = request;
  assert(lines.length >= 1 && lines.length <= limits.orderLinesMax, `allocation lines: 1..${limits.orderLinesMax}`);
  assert(
    warehouses.length <= limits.allocationWarehousesMax,
    `allocation candidates: at most ${limits.allocationWarehousesMax}`,
  );
  assert(new Set(lines.map((line) => line.sku)).size === lines.length, 'allocation lines name each SKU once');
  assert(
    new Set(warehouses.map((warehouse) => warehouse.id)).size === warehouses.length,
    'candidate warehouses are distinct',
  );
  for (const line of lines) {
    assert(
      Number.isSafeInteger(line.quantity) && line.quantity >= 1 && line.quantity <= limits.quantityMax,
      `line quantity: ${line.quantity}`,
    );
  }

  const ranked = warehouses.map((warehouse): RankedWarehouse => {
    const stock = lines.map((line) => {
      const units = Object.hasOwn(warehouse.available, line.sku) ? warehouse.available[line.sku] : 0;
      assert(
        units !== undefined && Number.isSafeInteger(units),
        `available ${warehouse.id}/${line.sku} is a safe integer`,
      );
      return Math.max(0, units);
    });
    return { id: warehouse.id, distanceKm: destination ? haversineKm(destination, warehouse.location) : 0, stock };
  });
  ranked.sort((a, b) => a.distanceKm - b.distanceKm || compareIds(a.id, b.id));

  for (const [index, line] of lines.entries()) {
    const available = ranked.reduce((sum, warehouse) => sum + (warehouse.stock[index] as number), 0);
    if (available < line.quantity) {
      return { ok: false, reason: 'insufficient_stock', line: { sku: line.sku, quantity: line.quantity, available } };
    }
  }
  const wholeSomewhere = lines.map((line, index) =>
    ranked.some((warehouse) => (warehouse.stock[index] as number) >= line.quantity),
  );
  return { ok: true, prepared: { lines, warehouses: ranked, wholeSomewhere } };
}

/**
 * Takes each line from `chosen` (already in distance order): whole from the nearest warehouse that
 * holds all of it, or, for a line no warehouse holds whole, filled nearest first. Allocations come
 * out in distance order, lines in request order.
 */
export function assignLines(prepared: PreparedRequest, chosen: readonly RankedWarehouse[]): WarehouseAllocation[] {
  const taken = new Map<RankedWarehouse, AllocationLine[]>(chosen.map((warehouse) => [warehouse, []]));
  for (const [index, line] of prepared.lines.entries()) {
    const whole = prepared.wholeSomewhere[index]
      ? chosen.find((warehouse) => (warehouse.stock[index] as number) >= line.quantity)
      : undefined;
    if (whole) {
      taken.get(whole)?.push({ sku: line.sku, quantity: line.quantity });
      continue;
    }
    let remaining = line.quantity;
    for (const warehouse of chosen) {
      const quantity = Math.min(remaining, warehouse.stock[index] as number);
      if (quantity === 0) continue;
      taken.get(warehouse)?.push({ sku: line.sku, quantity });
      remaining -= quantity;
      if (remaining === 0) break;
    }
    assert(remaining === 0, `allocation covers ${line.sku}`);
  }
  return chosen
    .map((warehouse) => ({ warehouseId: warehouse.id, lines: taken.get(warehouse) ?? [] }))
    .filter((allocation) => allocation.lines.length > 0);
}
