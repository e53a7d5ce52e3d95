import { z } from 'zod';
import { fewestWarehouses } from './fewest-warehouses.ts';
import { nearestPerLine } from './nearest-per-line.ts';
import type { AllocationStrategy } from './request.ts';

/**
 * The allocation strategies ops can choose between (docs/architecture.md, "Orders").
 * Names are stored in settings, so they are never renamed once shipped; add new ones instead.
 */
export const allocationStrategies = {
  fewest_warehouses: fewestWarehouses,
  nearest_per_line: nearestPerLine,
} as const satisfies Record<string, AllocationStrategy>;

export type AllocationStrategyName = keyof typeof allocationStrategies;
export const allocationStrategyNames = Object.keys(allocationStrategies) as [
  AllocationStrategyName,
  ...AllocationStrategyName[],
];
export const allocationStrategyNameSchema = z.enum(allocationStrategyNames);
export const defaultAllocationStrategyName: AllocationStrategyName = 'fewest_warehouses';
