import { assert } from '../../assert.ts';
import * as limits from '../../limits.ts';
import {
  type AllocationRequest,
  type AllocationResult,
  type PreparedRequest,
  type RankedWarehouse,
  assignLines,
  prepareRequest,
} from './request.ts';

/**
 * `fewest_warehouses`, the default (docs/architecture.md, "Orders"): one warehouse holding every line, the
 * nearest such; else a split shipment from the fewest warehouses, and among equally few the set with
 * the smallest total distance to the destination. Remaining ties go to the set that comes first in
 * (distance, id) order, so the answer never depends on the order candidates were listed in.
 *
 * A line is split across warehouses only when no single candidate holds its whole quantity. That
 * rule is hard: a set of warehouses qualifies only if each line a single warehouse could send whole
 * is held whole by one of them, even when splitting would save a parcel (six dining chairs should
 * arrive together; a split line is two picks and two deliveries of one item).
 *
 * Finding the fewest is a set-cover search: exact over subsets of growing size while the number of
 * subsets stays within `allocationSubsetsSearchedMax`, then greedy (the warehouse covering the most
 * unmet lines, nearest on ties) pruned of any warehouse the rest can do without. Only warehouses
 * holding at least one requested unit take part, which keeps real searches small.
 */
export function fewestWarehouses(request: AllocationRequest): AllocationResult {
  const result = prepareRequest(request);
  if (!result.ok) return result;
  const prepared = result.prepared;
  const useful = prepared.warehouses.filter((warehouse) => warehouse.stock.some((units) => units > 0));
  const chosen = exactSmallestSet(prepared, useful) ?? greedySet(prepared, useful);
  return { ok: true, allocations: assignLines(prepared, chosen) };
}

/** Whether these warehouses can send every line under the split rule. */
function coversAllLines(prepared: PreparedRequest, warehouses: readonly RankedWarehouse[]): boolean {
  return prepared.lines.every((line, index) => {
    if (prepared.wholeSomewhere[index])
      return warehouses.some((warehouse) => (warehouse.stock[index] as number) >= line.quantity);
    return warehouses.reduce((sum, warehouse) => sum + (warehouse.stock[index] as number), 0) >= line.quantity;
  });
}

function exactSmallestSet(
  prepared: PreparedRequest,
  useful: readonly RankedWarehouse[],
): RankedWarehouse[] | undefined {
  let budget = limits.allocationSubsetsSearchedMax;
  for (let size = 1; size <= useful.length; size++) {
    const subsets = binomial(useful.length, size);
    if (subsets > budget) return undefined;
    budget -= subsets;
    let best: RankedWarehouse[] | undefined;
    let bestDistanceKm = Number.POSITIVE_INFINITY;
    for (const indices of combinations(useful.length, size)) {
      const candidate = indices.map((index) => useful[index] as RankedWarehouse);
      if (!coversAllLines(prepared, candidate)) continue;
      const distanceKm = candidate.reduce((sum, warehouse) => sum + warehouse.distanceKm, 0);
      if (distanceKm < bestDistanceKm) {
        best = candidate;
        bestDistanceKm = distanceKm;
      }
    }
    if (best) return best;
  }
  // prepareRequest proved every line's total is there, so all useful warehouses together cover it.
  assert(false, 'some set of warehouses covers an order whose every line is in stock');
}

function greedySet(prepared: PreparedRequest, useful: readonly RankedWarehouse[]): RankedWarehouse[] {
  const chosen: RankedWarehouse[] = [];
  const unmet = (): number[] =>
    prepared.lines.flatMap((line, index) => {
      if (prepared.wholeSomewhere[index])
        return chosen.some((warehouse) => (warehouse.stock[index] as number) >= line.quantity) ? [] : [index];
      return chosen.reduce((sum, warehouse) => sum + (warehouse.stock[index] as number), 0) >= line.quantity
        ? []
        : [index];
    });
  for (let open = unmet(); open.length > 0; open = unmet()) {
    let best: RankedWarehouse | undefined;
    let bestGain = 0;
    for (const warehouse of useful) {
      if (chosen.includes(warehouse)) continue;
      const gain = open.filter((index) => {
        const units = warehouse.stock[index] as number;
        return prepared.wholeSomewhere[index]
          ? units >= (prepared.lines[index] as { quantity: number }).quantity
          : units > 0;
      }).length;
      if (gain > bestGain) {
        best = warehouse;
        bestGain = gain;
      }
    }
    assert(best !== undefined, 'an unmet line always has a warehouse that helps');
    chosen.push(best);
  }
  // Back in (distance, id) order, then drop any warehouse the others can do without, farthest first.
  const order = new Map(useful.map((warehouse, index) => [warehouse, index]));
  chosen.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
  for (let i = chosen.length - 1; i >= 0; i--) {
    if (
      coversAllLines(
        prepared,
        chosen.filter((_, j) => j !== i),
      )
    )
      chosen.splice(i, 1);
  }
  return chosen;
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return Math.round(result);
}

/** k-subsets of 0..n-1 in lexicographic order. */
function* combinations(n: number, k: number): Generator<number[]> {
  const indices = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield [...indices];
    let i = k - 1;
    while (i >= 0 && indices[i] === n - k + i) i--;
    if (i < 0) return;
    indices[i] = (indices[i] as number) + 1;
    for (let j = i + 1; j < k; j++) indices[j] = (indices[j - 1] as number) + 1;
  }
}
