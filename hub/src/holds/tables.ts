import type { ColumnType } from 'kysely';

/** A checkout hold: units set aside for one client until `expires_at` (docs/architecture.md, "Quantities"; TTL bounded). */
export interface HoldsTable {
  id: string;
  client_id: string;
  /** active | released | converted (to an order's allocation) */
  status: string;
  expires_at: number;
  created_at: number;
  released_at: number | null;
}

/**
 * One line of a hold at one warehouse. While `counted = 1` its quantity is inside the partition's
 * `reserved` counter; the line stops counting at `expires_at` for readers at once (they subtract
 * expired counted lines), and leaves the counter when a write on its partition or the sweeper
 * settles it (`counted = 0`).
 */
export interface HoldLinesTable {
  hold_id: string;
  /** The hold's client (0027), so the hold cap reads one index; null only on lines older than 0027's backfill. */
  client_id: ColumnType<string | null, string | null | undefined, string | null>;
  line_no: number;
  warehouse_id: string;
  sku: string;
  quantity: number;
  expires_at: number;
  counted: number;
}

/** A hold line's configuration (0023), per (hold, SKU): the order made from the hold takes it. */
export interface HoldConfigurationsTable {
  hold_id: string;
  sku: string;
  configuration_json: string;
}

export interface HoldTables {
  holds: HoldsTable;
  hold_lines: HoldLinesTable;
  hold_configurations: HoldConfigurationsTable;
}
