import type { ColumnType } from 'kysely';
import type { HoldTables } from '../holds/schema.ts';
import type { FulfillmentFactTables } from '../orders/fulfillment-schema.ts';
import type { OrderTables } from '../orders/schema.ts';
import type { ShortageTables } from '../orders/shortage-schema.ts';
import type { QuotaTables } from '../quotas/schema.ts';
import type { SyncTables } from '../sync/schema.ts';

/**
 * The hub's tables as both adapters store them. Portable on purpose: integer quantities and
 * epoch-millisecond times, text ids, JSON as text, booleans as 0/1 integers.
 */
export interface ProductsTable {
  id: string;
  name: string;
  category: string;
  material: string | null;
  description: string | null;
  base_price: number;
  currency: string;
  dimensions_json: string | null;
  options_json: string | null;
  archived: number;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface VariantsTable {
  sku: string;
  product_id: string;
  position: number;
  gtin: string | null;
  options_json: string;
  price: number | null;
}

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
  created_at: number;
}

export interface ApiClientsTable {
  id: string;
  name: string;
  role: string;
  warehouses_json: string;
  /** SHA-256 of a 256-bit random secret: high entropy, so a fast hash is safe (no dictionary to try). */
  secret_hash: string;
  epoch: number;
  revoked_at: number | null;
  created_at: number;
}

export interface StaffTable {
  id: string;
  username: string;
  role: string;
  warehouses_json: string;
  /** `scrypt$N$r$p$salt$hash`: people choose passwords, so a slow salted hash. */
  password_hash: string;
  disabled_at: number | null;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  /** Set once a newer key signs; the key stays published until pruned so issued tokens verify. */
  retired_at: number | null;
}

export interface DownstreamChannelsTable {
  channel: string;
  last_seq: number;
}

export interface DownstreamLogTable {
  channel: string;
  seq: number;
  type: string;
  payload: string;
  created_at: number;
}

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
  updated_at: number;
  /** The full fold state (bins, lots, serials) of an edge-owned partition; null for API-written stock. */
  state_json: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Responses kept per (client, Idempotency-Key) so a retried create replays instead of repeating. */
export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  fingerprint: string;
  state: 'in_flight' | 'done';
  status: number | null;
  body: string | null;
  headers_json: string | null;
  created_at: number;
}

/** `allocations` as 0008_shortage reshaped it (orders/shortage-schema.ts), not as 0005 created it. */
export interface Database
  extends SyncTables,
    HoldTables,
    OrderTables,
    FulfillmentFactTables,
    ShortageTables,
    QuotaTables {
  idempotency_keys: IdempotencyKeysTable;
  products: ProductsTable;
  variants: VariantsTable;
  warehouses: WarehousesTable;
  api_clients: ApiClientsTable;
  staff: StaffTable;
  signing_keys: SigningKeysTable;
  downstream_channels: DownstreamChannelsTable;
  downstream_log: DownstreamLogTable;
  stock_partitions: StockPartitionsTable;
}
