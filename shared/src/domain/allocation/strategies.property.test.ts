import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haversineKm } from './geo.ts';
import type { AllocationRequest, AllocationResult, CandidateWarehouse } from './request.ts';
import { type AllocationStrategyName, allocationStrategies } from './strategies.ts';

/**
 * Small alphabets so that warehouses often hold the same SKUs, lines are often short, ties in
 * distance happen (shared locations, no destination), and shortages show up as negative available.
 */
const skuPool = ['SOFA', 'CHAIR', 'TABLE', 'RUG'] as const;
const idPool = ['wh-a', 'wh-b', 'wh-c', 'wh-d', 'wh-e', 'wh-f'] as const;
const spots = [
  { lat: 48.85, lon: 2.35 },
  { lat: 45.76, lon: 4.84 },
  { lat: 52.52, lon: 13.4 },
  { lat: -33.87, lon: 151.21 },
] as const;
const runs = { numRuns: 400 };

const location = fc.oneof(
  fc.constantFrom(...spots),
  fc.record({
    lat: fc.double({ min: -90, max: 90, noNaN: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
  }),
);
const available = fc.dictionary(fc.constantFrom(...skuPool), fc.integer({ min: -2, max: 8 }), {
  maxKeys: skuPool.length,
});
const warehouses = fc
  .uniqueArray(fc.constantFrom(...idPool), { maxLength: idPool.length })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record({ id: fc.constant(id), kind: fc.constantFrom('warehouse', 'store', '3pl'), location, available }),
      ),
    ),
  ) as fc.Arbitrary<CandidateWarehouse[]>;
const lines = fc.uniqueArray(
  fc.record({ sku: fc.constantFrom(...skuPool), quantity: fc.integer({ min: 1, max: 10 }) }),
  {
    minLength: 1,
    maxLength: skuPool.length,
    selector: (line) => line.sku,
  },
);
const request: fc.Arbitrary<AllocationRequest> = fc
  .record({ lines, warehouses, destination: fc.option(location, { nil: undefined }) })
  .map(({ destination, ...rest }) => (destination === undefined ? rest : { ...rest, destination }));

const usable = (warehouse: CandidateWarehouse, sku: string) => Math.max(0, warehouse.available[sku] ?? 0);
const totalUsable = (input: AllocationRequest, sku: string) =>
  input.warehouses.reduce((sum, warehouse) => sum + usable(warehouse, sku), 0);
const holdsWhole = (input: AllocationRequest, sku: string, quantity: number) =>
  input.warehouses.some((warehouse) => usable(warehouse, sku) >= quantity);
const distance = (input: AllocationRequest, warehouse: CandidateWarehouse) =>
  input.destination ? haversineKm(input.destination, warehouse.location) : 0;

function allocated(result: Extract<AllocationResult, { ok: true }>, warehouseId: string, sku: string): number {
  return result.allocations
    .filter((allocation) => allocation.warehouseId === warehouseId)
    .flatMap((allocation) => allocation.lines)
    .filter((line) => line.sku === sku)
    .reduce((sum, line) => sum + line.quantity, 0);
}

/** The oracle: every subset of candidates, smallest first, that meets the split rule. */
function bruteForceBest(input: AllocationRequest): { size: number; distanceKm: number } {
  const all = input.warehouses;
  let best = { size: Number.POSITIVE_INFINITY, distanceKm: Number.POSITIVE_INFINITY };
  for (let mask = 1; mask < 1 << all.length; mask++) {
    const subset = all.filter((_, i) => mask & (1 << i));
    const covers = input.lines.every((line) =>
      holdsWhole(input, line.sku, line.quantity)
        ? subset.some((warehouse) => usable(warehouse, line.sku) >= line.quantity)
        : subset.reduce((sum, warehouse) => sum + usable(warehouse, line.sku), 0) >= line.quantity,
    );
    if (!covers) continue;
    const distanceKm = subset.reduce((sum, warehouse) => sum + distance(input, warehouse), 0);
    if (subset.length < best.size || (subset.length === best.size && distanceKm < best.distanceKm))
      best = { size: subset.length, distanceKm };
  }
  return best;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1, s = seed; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe.each(Object.keys(allocationStrategies) as AllocationStrategyName[])(
  'properties of the %s strategy',
  (name) => {
    const allocate = allocationStrategies[name];

    it('succeeds exactly when every line is in stock somewhere, else names the first short line', () => {
      fc.assert(
        fc.property(request, (input) => {
          const short = input.lines.find((line) => totalUsable(input, line.sku) < line.quantity);
          const result = allocate(input);
          if (short === undefined) expect(result.ok).toBe(true);
          else
            expect(result).toEqual({
              ok: false,
              reason: 'insufficient_stock',
              line: { ...short, available: totalUsable(input, short.sku) },
            });
        }),
        runs,
      );
    });

    it('never takes more than a warehouse has available', () => {
      fc.assert(
        fc.property(request, (input) => {
          const result = allocate(input);
          if (!result.ok) return;
          for (const warehouse of input.warehouses) {
            for (const sku of skuPool)
              expect(allocated(result, warehouse.id, sku)).toBeLessThanOrEqual(usable(warehouse, sku));
          }
        }),
        runs,
      );
    });

    it('allocates exactly the quantity of every line, nothing else, in positive parts from known warehouses', () => {
      fc.assert(
        fc.property(request, (input) => {
          const result = allocate(input);
          if (!result.ok) return;
          const ids = result.allocations.map((allocation) => allocation.warehouseId);
          expect(new Set(ids).size).toBe(ids.length);
          for (const allocation of result.allocations) {
            expect(input.warehouses.some((warehouse) => warehouse.id === allocation.warehouseId)).toBe(true);
            expect(allocation.lines.length).toBeGreaterThan(0);
            for (const line of allocation.lines) expect(line.quantity).toBeGreaterThan(0);
          }
          const requested = new Map(input.lines.map((line) => [line.sku, line.quantity]));
          const given = new Map<string, number>();
          for (const line of result.allocations.flatMap((allocation) => allocation.lines))
            given.set(line.sku, (given.get(line.sku) ?? 0) + line.quantity);
          expect(given).toEqual(requested);
        }),
        runs,
      );
    });

    it('splits a line only when no single warehouse holds all of it', () => {
      fc.assert(
        fc.property(request, (input) => {
          const result = allocate(input);
          if (!result.ok) return;
          for (const line of input.lines) {
            const parts = result.allocations.filter((allocation) =>
              allocation.lines.some((l) => l.sku === line.sku),
            ).length;
            if (holdsWhole(input, line.sku, line.quantity)) expect(parts).toBe(1);
          }
        }),
        runs,
      );
    });

    it('gives the same answer for the same request, however the candidates are listed', () => {
      fc.assert(
        fc.property(request, fc.nat(), (input, seed) => {
          const first = allocate(input);
          expect(allocate(structuredClone(input))).toEqual(first);
          const relisted = {
            ...input,
            warehouses: shuffled(input.warehouses, seed).map((warehouse) => ({
              ...warehouse,
              available: Object.fromEntries(Object.entries(warehouse.available).reverse()),
            })),
          };
          expect(allocate(relisted)).toEqual(first);
        }),
        runs,
      );
    });
  },
);

describe('optimality of fewest_warehouses', () => {
  const allocate = allocationStrategies.fewest_warehouses;

  it('uses as few warehouses as any set meeting the split rule, and among those the nearest in total', () => {
    fc.assert(
      fc.property(request, (input) => {
        const result = allocate(input);
        if (!result.ok) return;
        const best = bruteForceBest(input);
        expect(result.allocations.length).toBe(best.size);
        const chosenKm = result.allocations.reduce(
          (sum, allocation) =>
            sum +
            distance(
              input,
              input.warehouses.find((warehouse) => warehouse.id === allocation.warehouseId) as CandidateWarehouse,
            ),
          0,
        );
        expect(chosenKm).toBeCloseTo(best.distanceKm, 6);
      }),
      runs,
    );
  });

  it('ships from the nearest single warehouse whenever one holds every line', () => {
    fc.assert(
      fc.property(request, (input) => {
        const whole = input.warehouses.filter((warehouse) =>
          input.lines.every((line) => usable(warehouse, line.sku) >= line.quantity),
        );
        fc.pre(whole.length > 0);
        const nearest = whole.reduce((a, b) => {
          const order = distance(input, a) - distance(input, b) || (a.id < b.id ? -1 : 1);
          return order <= 0 ? a : b;
        });
        expect(allocate(input)).toEqual({
          ok: true,
          allocations: [{ warehouseId: nearest.id, lines: input.lines.map((line) => ({ ...line })) }],
        });
      }),
      runs,
    );
  });

  it('never uses more warehouses than nearest_per_line', () => {
    fc.assert(
      fc.property(request, (input) => {
        const fewest = allocate(input);
        const nearest = allocationStrategies.nearest_per_line(input);
        if (fewest.ok && nearest.ok) expect(fewest.allocations.length).toBeLessThanOrEqual(nearest.allocations.length);
      }),
      runs,
    );
  });
});

describe('fewest_warehouses past its exact-search budget (greedy)', () => {
  // 400 candidates holding two SKUs each: no one warehouse covers four lines, and C(400, 2) subsets
  // exceed the budget, so the greedy search answers.
  const crowd = fc.array(
    fc.record({
      skus: fc.uniqueArray(fc.constantFrom(...skuPool), { minLength: 2, maxLength: 2 }),
      units: fc.integer({ min: 1, max: 6 }),
      lat: fc.integer({ min: -60, max: 60 }),
    }),
    { minLength: 400, maxLength: 400 },
  );
  const bigRequest = fc
    .record({ crowd, quantities: fc.tuple(...skuPool.map(() => fc.integer({ min: 1, max: 12 }))) })
    .map(
      ({ crowd: members, quantities }): AllocationRequest => ({
        lines: skuPool.map((sku, i) => ({ sku, quantity: quantities[i] as number })),
        warehouses: members.map((member, i) => ({
          id: `wh-${String(i).padStart(3, '0')}`,
          kind: 'warehouse',
          location: { lat: member.lat, lon: 0 },
          available: Object.fromEntries(member.skus.map((sku) => [sku, member.units])),
        })),
        destination: { lat: 0, lon: 0 },
      }),
    );

  it('still takes exactly what was asked, within available, splitting only what no one holds whole, the same way each time', () => {
    fc.assert(
      fc.property(bigRequest, fc.nat(), (input, seed) => {
        const result = allocationStrategies.fewest_warehouses(input);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        for (const line of input.lines) {
          const parts = result.allocations.flatMap((allocation) =>
            allocation.lines.filter((l) => l.sku === line.sku).map((l) => ({ allocation, l })),
          );
          expect(parts.reduce((sum, part) => sum + part.l.quantity, 0)).toBe(line.quantity);
          if (holdsWhole(input, line.sku, line.quantity)) expect(parts).toHaveLength(1);
          for (const part of parts) {
            const warehouse = input.warehouses.find((w) => w.id === part.allocation.warehouseId) as CandidateWarehouse;
            expect(part.l.quantity).toBeLessThanOrEqual(usable(warehouse, line.sku));
          }
        }
        expect(
          allocationStrategies.fewest_warehouses({ ...input, warehouses: shuffled(input.warehouses, seed) }),
        ).toEqual(result);
      }),
      { numRuns: 25 },
    );
  });
});
