/**
 * The sync protocol's version. Bump it with every change to a message schema (the pinned hash in
 * protocol.test.ts fails until you do), add a line below, and keep new fields optional so an edge
 * one version behind still talks to the hub. Old fields are marked `@deprecated` before removal.
 *
 * -- Version 1: hello/welcome, push/ack upstream, changes/checkpoint/changes_ack downstream,
 *    must_reset, error.
 * -- Version 2 adds hello.ackedSeq (where a new incarnation's stream starts), welcome.rejected
 *    (rejections whose ack was lost), ack.checksums (drift
 *    detection) and the `reconcile` stock event (repair). A version 1 hub never sends checksums, so
 *    its edges never send it a reconcile.
 * -- Version 3 adds fulfillment facts to the upstream stream (`fulfillment_packed`, `_shipped`,
 *    `_canceled`, `_cancel_refused`, `_released`) and the `unpick` stock event. A version 2 edge
 *    never sends them; a version 2 hub would refuse the frame, so edges upgrade after their hub.
 *    Acks may name two more rejection reasons: `unknown_fulfillment`, `fulfillment_state_conflict`;
 *    a `quota_return` may carry 0 (the edge answering a return request with nothing left).
 * -- Version 4 adds a payload schema per downstream change kind (downstream-changes.ts): a `changes`
 *    frame is checked kind by kind, and a kind a newer hub adds still decodes and is skipped. The
 *    payloads a version 3 hub sent are the same, so a version 3 edge is served as before. Removes what
 *    no hub ever sent: `checkpoint_complete.checksums` and the `must_reset` reasons
 *    `cursor_compacted` and `hub_epoch_changed`.
 * -- Version 5 adds returns: the downstream kinds `return.authorized` and `return.canceled`, the
 *    upstream fact `return_received` (after the `return_restock` events it accounts for) and the
 *    rejection reasons `unknown_return`, `return_state_conflict`. A version 4 edge skips the new kinds
 *    (they decode as unknown) and never sends the fact; a version 4 hub would refuse the fact, so
 *    edges upgrade after their hub, as for version 3.
 * -- Version 6 adds configurable products: the optional `configurableOptions` of `product.upserted`
 *    and `product.archived`, and the optional `configuration` of each `fulfillment.requested` line
 *    (what the buyer chose: fabric, width…). A version 5 edge decodes payloads strictly, so the hub
 *    sends it each change without the new fields (`changeForPeer` in downstream-changes.ts): it
 *    picks as before, without the configuration.
 *    A push may also carry up to `pushBatchEventsMax` (2,048) events, and an ack as many checksums
 *    (the shapes are unchanged): an edge reads the hub's version from its welcome and pushes at most
 *    256 events to a hub older than 6; a version 5 edge's pushes are as before.
 * -- Version 7 adds supply (docs/catalog.md, "Pre-orders and made-to-order"): the optional variant
 *    fields `fulfillment`, `leadTimeDays`, `productionWarehouseId`, `preorderCap` of `product.*`
 *    changes, and the downstream kinds `purchase_order.opened`, `purchase_order.canceled`,
 *    `production.requested`, `production.canceled`. A version 6 edge is sent products without the
 *    new fields (`changeForPeer`) and skips the new kinds (they decode as unknown). Receipts against a
 *    purchase order or a production request travel upstream as ordinary `receive` events whose
 *    `reference` names them (`po:<id>`, `production:<id>`): the upstream shapes are unchanged.
 */
export const PROTOCOL_VERSION = 7;

/**
 * The oldest version a peer may speak; an older hello is refused with `protocol_unsupported` (4426).
 * Version 1 is refused: its strict decoder cannot read the `ack.checksums` and `welcome.rejected` a
 * hub sends since version 2, so it would be dropped at its first ack instead of told why.
 */
export const PROTOCOL_VERSION_MIN = 2;

/** WebSocket close codes (4000-4999 are the application's). */
export const closeCodes = {
  /** A frame failed validation or exceeded a limit: nothing from it was applied. */
  malformed: 4400,
  /** Authentication failed or expired. */
  unauthorized: 4401,
  /** The edge spoke for a warehouse its token does not name. */
  forbidden: 4403,
  /** The hello's protocol version is outside what this peer supports. */
  protocolUnsupported: 4426,
  /** A newer enrollment (epoch) of this warehouse's edge exists: this one is fenced off. */
  fenced: 4409,
  /** The peer sent faster than allowed. */
  rateLimited: 4429,
} as const;
