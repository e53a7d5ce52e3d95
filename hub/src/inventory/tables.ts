import type { ColumnType } from 'kysely';

/** The hub's replica of one `(warehouse, sku)` partition plus the quantities the hub owns. */
export interface StockPartitionsTable {
  warehouse_id: string;
  sku: string;
  on_hand: number;
  damaged: number;
  quality_control: number;
  picked: number;
  edge_quota: number;
  committed: number;
  reserved: number;
  safety_stock: number;
  incoming: number;
  /** Units promised to pre-orders against `incoming` (0030): held and paid, not yet received. */
  preordered: ColumnType<number, number | undefined, number>;
  updated_at: number;
  /** The full fold state (bins, lots, serials) of an edge-owned partition; null for API-written stock. */
  state_json: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface InventoryTables {
  stock_partitions: StockPartitionsTable;
}
