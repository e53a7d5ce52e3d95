/**
 * What the hub learns of fulfillment orders from their warehouses: the facts as applied,
 * and the shipments they created. The edge owns pick/pack/ship; these are the hub's record of it.
 */
export interface EdgeFactsTable {
  event_id: string;
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  type: string;
  fulfillment_id: string;
  event_json: string;
  applied_at: number;
}

export interface FulfillmentFactTables {
  edge_facts: EdgeFactsTable;
}
