import type { Generated } from 'kysely';

export interface WarehousesTable {
  id: string;
  name: string;
  kind: string;
  lat: number;
  lon: number;
  address: string | null;
  capacity: number | null;
  contact: string | null;
  /** 0 until an edge enrolls; bumps on every re-enrollment so the old edge is fenced off. */
  edge_epoch: number;
  /** 1 when the warehouse receives returns (0020; default 1: edge warehouses do). */
  accepts_returns: Generated<number>;
  created_at: number;
}

export interface WarehouseTables {
  warehouses: WarehousesTable;
}
