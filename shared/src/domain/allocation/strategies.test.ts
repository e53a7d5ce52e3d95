import { describe, expect, it } from 'vitest';
import { emptyPartition } from '../stock/partition.ts';
import { availableUnits } from '../stock/quantities.ts';
import type { AllocationLine, AllocationRequest, CandidateWarehouse, WarehouseAllocation } from './request.ts';
import {
  type AllocationStrategyName,
  allocationStrategies,
  allocationStrategyNameSchema,
  defaultAllocationStrategyName,
} from './strategies.ts';

/** Real places, so "nearest" reads true: from Paris, the store is 0 km, Rotterdam 373, Lyon 391, Milan 640, Hamburg 745, Berlin 877, Madrid 1053. */
const places = {
  'paris-store': { lat: 48.8566, lon: 2.3522 },
  rotterdam: { lat: 51.9244, lon: 4.4777 },
  lyon: { lat: 45.764, lon: 4.8357 },
  milan: { lat: 45.4642, lon: 9.19 },
  hamburg: { lat: 53.5511, lon: 9.9937 },
  berlin: { lat: 52.52, lon: 13.405 },
  madrid: { lat: 40.4168, lon: -3.7038 },
} as const;
type Place = keyof typeof places;
const paris = places['paris-store'];
const munich = { lat: 48.1351, lon: 11.582 };

const SOFA = 'SOFA-3S-SAND';
const ARMCHAIR = 'ARMCHAIR-BOUCLE';
const CHAIR = 'CHAIR-OAK';
const TABLE = 'TABLE-OAK-220';
const RUG = 'RUG-WOOL-200';
const LAMP = 'LAMP-ARC';

function stocked(stock: Partial<Record<Place, Record<string, number>>>): CandidateWarehouse[] {
  return Object.entries(stock).map(([id, available]) => ({
    id,
    kind: id === 'paris-store' ? 'store' : 'warehouse',
    location: places[id as Place],
    available: available ?? {},
  }));
}

function lines(...pairs: Array<[string, number]>): AllocationLine[] {
  return pairs.map(([sku, quantity]) => ({ sku, quantity }));
}

function from(warehouseId: Place, ...pairs: Array<[string, number]>): WarehouseAllocation {
  return { warehouseId, lines: lines(...pairs) };
}

type Scenario = [string, AllocationRequest, WarehouseAllocation[]];

const fewestWarehousesScenarios: Scenario[] = [
  [
    'ships a sofa and two armchairs together from the nearest warehouse holding both',
    {
      lines: lines([SOFA, 1], [ARMCHAIR, 2]),
      warehouses: stocked({
        lyon: { [SOFA]: 3, [ARMCHAIR]: 5 },
        rotterdam: { [SOFA]: 1, [ARMCHAIR]: 2 },
        berlin: { [SOFA]: 9, [ARMCHAIR]: 9 },
      }),
      destination: paris,
    },
    [from('rotterdam', [SOFA, 1], [ARMCHAIR, 2])],
  ],
  [
    'passes over the nearest warehouse when it lacks one of the lines',
    {
      lines: lines([SOFA, 1], [ARMCHAIR, 2]),
      warehouses: stocked({
        'paris-store': { [SOFA]: 4, [ARMCHAIR]: 1 },
        rotterdam: { [SOFA]: 2 },
        lyon: { [SOFA]: 1, [ARMCHAIR]: 2 },
      }),
      destination: paris,
    },
    [from('lyon', [SOFA, 1], [ARMCHAIR, 2])],
  ],
  [
    'prefers one far warehouse to two near ones',
    {
      lines: lines([SOFA, 1], [RUG, 1]),
      warehouses: stocked({ 'paris-store': { [SOFA]: 1 }, rotterdam: { [RUG]: 1 }, madrid: { [SOFA]: 1, [RUG]: 1 } }),
      destination: paris,
    },
    [from('madrid', [SOFA, 1], [RUG, 1])],
  ],
  [
    'splits the shipment across two warehouses when no one holds every line, nearest pair first',
    {
      lines: lines([SOFA, 1], [RUG, 1], [LAMP, 2]),
      warehouses: stocked({
        milan: { [SOFA]: 2, [LAMP]: 2 },
        berlin: { [RUG]: 1 },
        lyon: { [SOFA]: 1, [LAMP]: 5 },
        rotterdam: { [RUG]: 3 },
      }),
      destination: paris,
    },
    [from('rotterdam', [RUG, 1]), from('lyon', [SOFA, 1], [LAMP, 2])],
  ],
  [
    'counts nearness from the destination: the same order to Munich leaves from Milan and Berlin',
    {
      lines: lines([SOFA, 1], [RUG, 1], [LAMP, 2]),
      warehouses: stocked({
        milan: { [SOFA]: 2, [LAMP]: 2 },
        berlin: { [RUG]: 1 },
        lyon: { [SOFA]: 1, [LAMP]: 5 },
        rotterdam: { [RUG]: 3 },
      }),
      destination: munich,
    },
    [from('milan', [SOFA, 1], [LAMP, 2]), from('berlin', [RUG, 1])],
  ],
  [
    'splits six dining chairs only because no warehouse has six, nearest first',
    {
      lines: lines([CHAIR, 6]),
      warehouses: stocked({ milan: { [CHAIR]: 5 }, lyon: { [CHAIR]: 4 }, berlin: { [CHAIR]: 5 } }),
      destination: paris,
    },
    [from('lyon', [CHAIR, 4]), from('milan', [CHAIR, 2])],
  ],
  [
    'keeps six dining chairs together even when splitting them would save a parcel',
    {
      lines: lines([TABLE, 1], [CHAIR, 6], [LAMP, 1]),
      warehouses: stocked({
        rotterdam: { [TABLE]: 1, [CHAIR]: 3 },
        lyon: { [LAMP]: 1, [CHAIR]: 3 },
        madrid: { [CHAIR]: 6 },
      }),
      destination: paris,
    },
    [from('rotterdam', [TABLE, 1]), from('lyon', [LAMP, 1]), from('madrid', [CHAIR, 6])],
  ],
  [
    'breaks a tie between equally near warehouses by id',
    {
      lines: lines([SOFA, 1]),
      warehouses: [
        { id: 'wh-b', kind: 'warehouse', location: places.lyon, available: { [SOFA]: 1 } },
        { id: 'wh-a', kind: 'warehouse', location: places.lyon, available: { [SOFA]: 1 } },
      ],
      destination: paris,
    },
    [{ warehouseId: 'wh-a', lines: lines([SOFA, 1]) }],
  ],
  [
    'without a destination still uses the fewest warehouses, ties going to the lowest id',
    {
      lines: lines([SOFA, 1], [RUG, 1]),
      warehouses: stocked({ rotterdam: { [SOFA]: 1, [RUG]: 1 }, berlin: { [SOFA]: 1, [RUG]: 1 }, lyon: { [SOFA]: 1 } }),
    },
    [from('berlin', [SOFA, 1], [RUG, 1])],
  ],
  [
    'treats a shortage’s negative available as none',
    {
      lines: lines([SOFA, 2]),
      warehouses: stocked({ 'paris-store': { [SOFA]: -3 }, lyon: { [SOFA]: 2 } }),
      destination: paris,
    },
    [from('lyon', [SOFA, 2])],
  ],
];

const nearestPerLineScenarios: Scenario[] = [
  [
    'sends each line from its own nearest warehouse, even if one farther warehouse holds both',
    {
      lines: lines([SOFA, 1], [RUG, 1]),
      warehouses: stocked({ 'paris-store': { [SOFA]: 1 }, rotterdam: { [RUG]: 1 }, madrid: { [SOFA]: 1, [RUG]: 1 } }),
      destination: paris,
    },
    [from('paris-store', [SOFA, 1]), from('rotterdam', [RUG, 1])],
  ],
  [
    'still splits a line only when no warehouse holds all of it',
    {
      lines: lines([CHAIR, 6], [LAMP, 1]),
      warehouses: stocked({ 'paris-store': { [CHAIR]: 4, [LAMP]: 1 }, lyon: { [CHAIR]: 6 }, milan: { [CHAIR]: 1 } }),
      destination: paris,
    },
    [from('paris-store', [LAMP, 1]), from('lyon', [CHAIR, 6])],
  ],
];

describe('the fewest_warehouses strategy (the default)', () => {
  it('is the default', () => {
    expect(defaultAllocationStrategyName).toBe('fewest_warehouses');
  });

  it.each(fewestWarehousesScenarios)('%s', (_name, request, allocations) => {
    expect(allocationStrategies.fewest_warehouses(request)).toEqual({ ok: true, allocations });
  });

  it('falls back to a greedy search past its budget and still ships two parcels for two lines', () => {
    const many = Array.from(
      { length: 400 },
      (_, i): CandidateWarehouse => ({
        id: `wh-${String(i).padStart(3, '0')}`,
        kind: 'warehouse',
        location: { lat: 40 + i / 40, lon: 2 },
        available: i % 2 === 0 ? { [SOFA]: 1 } : { [RUG]: 1 },
      }),
    );
    const result = allocationStrategies.fewest_warehouses({
      lines: lines([SOFA, 1], [RUG, 1]),
      warehouses: many,
      destination: { lat: 45, lon: 2 },
    });
    expect(result).toEqual({
      ok: true,
      allocations: [
        { warehouseId: 'wh-200', lines: lines([SOFA, 1]) },
        { warehouseId: 'wh-199', lines: lines([RUG, 1]) },
      ],
    });
  });
});

describe('the nearest_per_line strategy', () => {
  it.each(nearestPerLineScenarios)('%s', (_name, request, allocations) => {
    expect(allocationStrategies.nearest_per_line(request)).toEqual({ ok: true, allocations });
  });
});

describe.each(Object.keys(allocationStrategies) as AllocationStrategyName[])('every strategy: %s', (name) => {
  const allocate = allocationStrategies[name];

  it('refuses with insufficient_stock, naming the first short line and the units there are everywhere', () => {
    const request = {
      lines: lines([SOFA, 1], [CHAIR, 8], [RUG, 9]),
      warehouses: stocked({ lyon: { [SOFA]: 1, [CHAIR]: 4 }, milan: { [CHAIR]: 3, [RUG]: 1 } }),
      destination: paris,
    };
    expect(allocate(request)).toEqual({
      ok: false,
      reason: 'insufficient_stock',
      line: { sku: CHAIR, quantity: 8, available: 7 },
    });
  });

  it('refuses when there are no candidate warehouses at all', () => {
    expect(allocate({ lines: lines([SOFA, 1]), warehouses: [] })).toEqual({
      ok: false,
      reason: 'insufficient_stock',
      line: { sku: SOFA, quantity: 1, available: 0 },
    });
  });

  it('never counts a store’s in-store quota: it allocates from available, which excludes it', () => {
    // The Paris store has 5 sofas on hand, 4 of them granted to the edge for walk-in customers.
    const storeAvailable = availableUnits(
      { ...emptyPartition(), onHand: 5, edgeQuota: 4 },
      { committed: 0, reserved: 0, safetyStock: 0, incoming: 0 },
    );
    const warehouses = stocked({ 'paris-store': { [SOFA]: storeAvailable }, madrid: { [SOFA]: 2 } });
    expect(allocate({ lines: lines([SOFA, 2]), warehouses, destination: paris })).toEqual({
      ok: true,
      allocations: [from('madrid', [SOFA, 2])],
    });
    expect(allocate({ lines: lines([SOFA, 3]), warehouses, destination: paris })).toEqual({
      ok: true,
      allocations: [from('paris-store', [SOFA, 1]), from('madrid', [SOFA, 2])],
    });
  });

  it('asserts on a malformed request, a programmer error', () => {
    const warehouses = stocked({ lyon: { [SOFA]: 5 } });
    expect(() => allocate({ lines: [], warehouses })).toThrow(/allocation lines/);
    expect(() => allocate({ lines: lines([SOFA, 1], [SOFA, 1]), warehouses })).toThrow(/each SKU once/);
    expect(() => allocate({ lines: lines([SOFA, 0]), warehouses })).toThrow(/line quantity/);
    expect(() => allocate({ lines: lines([SOFA, 1]), warehouses: [...warehouses, ...warehouses] })).toThrow(/distinct/);
    expect(() => allocate({ lines: lines([SOFA, 1]), warehouses: stocked({ lyon: { [SOFA]: 1.5 } }) })).toThrow(
      /safe integer/,
    );
  });
});

describe('the strategy registry', () => {
  it('names each strategy, and the schema for ops settings accepts exactly those names', () => {
    expect(Object.keys(allocationStrategies).sort()).toEqual(['fewest_warehouses', 'nearest_per_line']);
    expect(allocationStrategyNameSchema.safeParse('nearest_per_line').success).toBe(true);
    expect(allocationStrategyNameSchema.safeParse('cheapest').success).toBe(false);
  });
});
