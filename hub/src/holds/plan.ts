import { DomainError, conflict } from '@dovetail/shared';
import {
  type CandidateWarehouse,
  type GeoPoint,
  type ReserveRequest,
  allocationStrategies,
  defaultAllocationStrategyName,
  limits,
} from '@dovetail/shared';

/**
 * What both adapters' hold paths share: the plan (the shared allocation strategy over availability
 * rows, however they were read), the refusals, the lock order and the view a taken hold answers with.
 */
export type HoldView = {
  id: string;
  status: 'active' | 'released' | 'expired' | 'converted';
  expiresAt: string;
  createdAt: string;
  lines: Array<{ sku: string; quantity: number; warehouseId: string }>;
};

export type Line = { sku: string; quantity: number; warehouseId: string };

/** One partition's availability as allocation reads it, with its warehouse's kind and location. */
export type AvailabilityRow = {
  warehouse_id: string;
  sku: string;
  kind: string;
  lat: number;
  lon: number;
  available: number;
};

/** Who asks, when (the hold's clock), and where the parcel goes (allocation's tie-breaker). */
export type ReserveContext = { clientId: string; nowMs: number; destination?: GeoPoint };

/** Raised inside a reserve when line `index` (of the lock-ordered lines) no longer fits: the plan lost a race. */
export class LineDoesNotFit extends Error {
  constructor(readonly index: number) {
    super(`line ${index} does not fit`);
  }
}

export function insufficient(line: { sku: string; quantity: number }, available: number): DomainError {
  return conflict(
    'insufficient_stock',
    `only ${Math.max(0, available)} of ${line.sku} can be held, not ${line.quantity}`,
    {
      sku: line.sku,
      quantity: line.quantity,
      available: Math.max(0, available),
    },
  );
}

/**
 * A hold past the client's cap on one SKU (docs/operations.md, "Hold cap"): 409 naming the SKU, the
 * cap, what the client holds of it now and what the hold asked for. Nothing is taken.
 */
export function holdCapExceeded(sku: string, cap: number, held: number, requested: number): DomainError {
  return conflict(
    'hold_cap_exceeded',
    `this client may hold at most ${cap} units of ${sku} at once; it holds ${held} and asked for ${requested} more`,
    { sku, cap, held, requested },
  );
}

/** The units of each SKU a hold asks for (a SKU may appear on several lines). */
export function unitsPerSku(lines: ReadonlyArray<{ sku: string; quantity: number }>): Map<string, number> {
  const units = new Map<string, number>();
  for (const line of lines) units.set(line.sku, (units.get(line.sku) ?? 0) + line.quantity);
  return units;
}

export const unknownSku = (sku: string) =>
  new DomainError('not_found', 'unknown_sku', `${sku} is not in the catalog`, { sku });

export const holdExpiresAt = (request: ReserveRequest, nowMs: number) =>
  nowMs + (request.ttlSeconds ?? limits.holdTtlSecondsDefault) * 1000;

/**
 * The order every writer locks partitions in, (warehouse, sku) by code unit, so two multi-line holds
 * never wait on each other in a cycle. PostgreSQL sorts the same way with `COLLATE "C"` (ids are ASCII).
 */
export function compareLockOrder(
  a: { warehouseId: string; sku: string },
  b: { warehouseId: string; sku: string },
): number {
  if (a.warehouseId !== b.warehouseId) return a.warehouseId < b.warehouseId ? -1 : 1;
  return a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0;
}

/**
 * Chooses warehouses with the configured strategy (shared/domain/allocation) from availability read
 * without locks. The choice is only a plan: the reservation proves availability again under the
 * partition's lock, and a lost race plans again from fresh numbers.
 */
export function planLines(
  request: ReserveRequest['lines'],
  rows: readonly AvailabilityRow[],
  destination: GeoPoint | undefined,
): Line[] | DomainError {
  const byWarehouse = new Map<string, CandidateWarehouse & { available: Record<string, number> }>();
  for (const row of rows) {
    let warehouse = byWarehouse.get(row.warehouse_id);
    if (!warehouse) {
      warehouse = {
        id: row.warehouse_id,
        kind: row.kind as CandidateWarehouse['kind'],
        location: { lat: Number(row.lat), lon: Number(row.lon) },
        available: {},
      };
      byWarehouse.set(row.warehouse_id, warehouse);
    }
    warehouse.available[row.sku] = Number(row.available);
  }
  const result = allocationStrategies[defaultAllocationStrategyName]({
    lines: request,
    warehouses: [...byWarehouse.values()],
    ...(destination ? { destination } : {}),
  });
  if (!result.ok) return insufficient(result.line, result.line.available);
  return result.allocations.flatMap((allocation) =>
    allocation.lines.map((line) => ({ ...line, warehouseId: allocation.warehouseId })),
  );
}

/** The answer to a hold just taken: its lines in the request's order. */
export function takenHoldView(
  id: string,
  request: ReserveRequest,
  lines: readonly Line[],
  nowMs: number,
  expiresAt: number,
): HoldView {
  return {
    id,
    status: 'active',
    expiresAt: new Date(expiresAt).toISOString(),
    createdAt: new Date(nowMs).toISOString(),
    lines: request.lines.flatMap((line) => lines.filter((l) => l.sku === line.sku)),
  };
}
