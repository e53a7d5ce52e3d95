import { type AllocationRequest, type AllocationResult, assignLines, prepareRequest } from './request.ts';

/**
 * `nearest_per_line`: every line ships from the nearest warehouse that holds all of it (split
 * nearest first only when none does), whatever the other lines do. It minimises each line's
 * distance, not the number of parcels, so one order may leave from many warehouses; it is the
 * alternative ops can switch to when delivery time matters more than shipment count.
 */
export function nearestPerLine(request: AllocationRequest): AllocationResult {
  const prepared = prepareRequest(request);
  if (!prepared.ok) return prepared;
  return { ok: true, allocations: assignLines(prepared.prepared, prepared.prepared.warehouses) };
}
