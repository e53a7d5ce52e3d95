/** One row per warehouse edge: where its upstream stream stands and what it has seen downstream. */
export interface EdgeStreamsTable {
  warehouse_id: string;
  /** The incarnation (database) currently speaking for the warehouse. */
  edge_id: string;
  epoch: number;
  /** Highest upstream seq durably applied or rejected for this incarnation. */
  applied_seq: number;
  /** The edge's own last seq as of its latest hello: `last_seq − applied_seq` is the lag in events. */
  last_seq: number;
  cursors_json: string;
  connected_at: number | null;
  last_seen_at: number | null;
  last_applied_at: number | null;
  /** Edge time of the newest applied event: now − this is the lag in seconds. */
  last_event_at: number | null;
}

/** Every edge event the hub applied: the replica's ledger, folded again by `verify`. */
export interface StockEventsTable {
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  event_id: string;
  sku: string;
  type: string;
  hlc: string;
  at_ms: number;
  event_json: string;
  applied_at: number;
}

/** Events the hub durably refused; the ack carries them to the edge, which shows them to staff. */
export interface SyncRejectionsTable {
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  event_id: string;
  sku: string;
  reason: string;
  message: string;
  event_json: string;
  created_at: number;
}

export interface SyncTables {
  edge_streams: EdgeStreamsTable;
  stock_events: StockEventsTable;
  sync_rejections: SyncRejectionsTable;
}
