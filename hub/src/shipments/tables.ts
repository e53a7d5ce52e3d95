/** A parcel set handed to a carrier by a warehouse: created by the `fulfillment_shipped` fact. */
export interface ShipmentsTable {
  id: string;
  order_id: string;
  fulfillment_id: string;
  warehouse_id: string;
  carrier: string;
  tracking_number: string;
  packages_json: string;
  lines_json: string;
  /** A tracking status (`trackingStatuses`): the latest carrier event's, `delivered` final. */
  status: string;
  shipped_at: number;
  created_at: number;
  /** The carrier's latest estimate (0016); null when none or once delivered. */
  estimated_delivery_at: number | null;
  /** When the delivering scan happened (0016). */
  delivered_at: number | null;
  /** When a carrier event last changed this row (0016). */
  updated_at: number | null;
}

/** One carrier scan of a shipment, keyed by the carrier's own event id (a repeat is a no-op). */
export interface ShipmentEventsTable {
  shipment_id: string;
  carrier_event_id: string;
  status: string;
  occurred_at: number;
  location: string | null;
  estimated_delivery_at: number | null;
  description: string | null;
  /** Who reported it: a client id, or `easypost` for the aggregator's webhook. */
  source: string;
  received_at: number;
}

export interface ShipmentTables {
  shipments: ShipmentsTable;
  shipment_events: ShipmentEventsTable;
}
