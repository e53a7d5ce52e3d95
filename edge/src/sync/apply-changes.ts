import { type DownstreamChange, isKnownDownstreamChange } from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import type { FulfillmentDesk } from '../services/fulfillments.ts';
import { ReturnDesk } from '../services/returns.ts';
import type { StockBook } from '../services/stock.ts';
import { SupplyDesk } from '../services/supply.ts';

/**
 * Applies downstream changes to the edge's replicas. Every applier is idempotent (an upsert keyed by
 * the record's id), because a checkpoint may be delivered again after a crash before its cursor was
 * stored. Payloads were checked against their kind's schema (shared/protocol) when the frame was
 * decoded. Kinds this edge does not know are skipped: a newer hub may send them to an older edge.
 */
export type ChangeApplier = (change: DownstreamChange) => 'applied' | 'skipped';

export function createChangeApplier(
  db: EdgeDatabase,
  desk: FulfillmentDesk,
  book: StockBook,
  clock: () => number = Date.now,
): ChangeApplier {
  const upsertVariant = db.prepare(
    `INSERT INTO catalog_variant (sku, product_id, name, gtin, options, archived) VALUES (@sku, @productId, @name, @gtin, @options, @archived)
     ON CONFLICT (sku) DO UPDATE SET product_id = @productId, name = @name, gtin = @gtin, options = @options, archived = @archived`,
  );
  const archiveDropped = db.prepare(
    'UPDATE catalog_variant SET archived = 1 WHERE product_id = ? AND sku NOT IN (SELECT value FROM json_each(?))',
  );
  const markVerified = db.prepare(
    'UPDATE partition SET verified = 1 WHERE sku IN (SELECT value FROM json_each(?)) AND verified = 0',
  );
  const staffByUsername = db.prepare<[string], { id: string; source: string }>(
    'SELECT id, source FROM staff WHERE username = ?',
  );
  const deleteStaff = db.prepare('DELETE FROM staff WHERE id = ?');
  const deleteSessions = db.prepare('DELETE FROM session WHERE staff_id = ?');
  const upsertStaff = db.prepare(
    `INSERT INTO staff (id, username, password_hash, role, source, disabled, created_ms) VALUES (@id, @username, @passwordHash, @role, 'hub', @disabled, @nowMs)
     ON CONFLICT (id) DO UPDATE SET username = @username, password_hash = @passwordHash, role = @role, disabled = @disabled`,
  );
  const insertFulfillment = db.prepare(
    `INSERT INTO fulfillment_order (id, order_id, order_number, status, ship_to, created_ms, updated_ms)
     VALUES (@id, @orderId, @orderNumber, 'open', @shipTo, @nowMs, @nowMs) ON CONFLICT (id) DO NOTHING`,
  );
  const insertFulfillmentLine = db.prepare(
    'INSERT INTO fulfillment_line (fulfillment_id, sku, quantity, configuration) VALUES (?, ?, ?, ?) ON CONFLICT (fulfillment_id, sku) DO NOTHING',
  );

  return (change) => {
    if (!isKnownDownstreamChange(change)) return 'skipped';
    switch (change.kind) {
      case 'product.upserted':
      case 'product.archived': {
        const product = change.payload;
        const skus = product.variants.map((variant) => variant.sku);
        for (const variant of product.variants) {
          upsertVariant.run({
            sku: variant.sku,
            productId: product.id,
            name: product.name,
            gtin: variant.gtin ?? null,
            options: JSON.stringify(variant.options),
            archived: product.archived ? 1 : 0,
          });
        }
        archiveDropped.run(product.id, JSON.stringify(skus));
        if (!product.archived) markVerified.run(JSON.stringify(skus));
        return 'applied';
      }
      case 'staff.upserted':
      case 'staff.disabled': {
        // The hub's roster, with password hashes, so people sign in here while the link is down.
        const entry = change.payload;
        if (entry.role !== 'supervisor' && entry.role !== 'warehouse_staff') return 'skipped';
        const holder = staffByUsername.get(entry.username);
        if (holder && holder.id !== entry.id) {
          // The break-glass bootstrap account keeps its name until an admin removes it.
          if (holder.source === 'bootstrap') return 'skipped';
          deleteSessions.run(holder.id);
          deleteStaff.run(holder.id);
        }
        const disabled = entry.disabled || change.kind === 'staff.disabled';
        upsertStaff.run({ ...entry, disabled: disabled ? 1 : 0, nowMs: clock() });
        if (disabled) deleteSessions.run(entry.id);
        return 'applied';
      }
      case 'fulfillment.requested': {
        const request = change.payload;
        const nowMs = clock();
        insertFulfillment.run({
          id: request.fulfillmentId,
          orderId: request.orderId,
          orderNumber: request.orderNumber,
          shipTo: JSON.stringify(request.shipTo),
          nowMs,
        });
        for (const line of request.lines) {
          const configuration = line.configuration ? JSON.stringify(line.configuration) : null;
          insertFulfillmentLine.run(request.fulfillmentId, line.sku, line.quantity, configuration);
        }
        return 'applied';
      }
      case 'fulfillment.cancel_requested': {
        // The edge owns the order now: it answers at once, in this checkpoint's transaction. Not
        // shipped: accepted (picked units back on a shelf, commitment released); shipped: refused.
        desk.answerCancel(change.payload.fulfillmentId, clock());
        return 'applied';
      }
      case 'fulfillment.release_requested': {
        const request = change.payload;
        desk.answerRelease(request.fulfillmentId, request.requestId, request.lines, clock());
        return 'applied';
      }
      case 'quota.granted': {
        // Rights the hub already took out of online availability: recorded as an ordinary stock event
        // (the partition stays written only here) naming the grant, so the hub can settle it.
        const grant = change.payload;
        const outcome = book.apply(
          { type: 'quota_grant', sku: grant.sku, quantity: grant.quantity, reference: grant.grantId },
          'hub-grant',
          clock(),
        );
        if (!outcome.ok) throw new Error(`quota grant ${grant.grantId} does not apply: ${outcome.reason}`);
        return 'applied';
      }
      case 'quota.return_requested': {
        // Give back what is left of the rights, up to what was asked (some may have been sold
        // meanwhile). Always answered, with 0 if nothing is left, so the hub stops waiting for it.
        const request = change.payload;
        const quantity = Math.min(request.quantity, book.read(request.sku).state.edgeQuota);
        const outcome = book.apply(
          { type: 'quota_return', sku: request.sku, quantity, reference: request.requestId },
          'hub-request',
          clock(),
        );
        if (!outcome.ok) throw new Error(`quota return ${request.requestId} does not apply: ${outcome.reason}`);
        return 'applied';
      }
      case 'warehouse.upserted':
        // Nothing on the edge reads the warehouse's configuration yet; store it when something does.
        return 'applied';
      case 'return.authorized':
        // A return this warehouse should expect: staff receive it at POST /returns/{id}/receive.
        ReturnDesk.applyAuthorized(db, change.payload, clock());
        return 'applied';
      case 'return.canceled':
        ReturnDesk.applyCanceled(db, change.payload.returnId, clock());
        return 'applied';
      case 'purchase_order.opened':
        // Goods this warehouse should expect: staff receive against them at POST /purchase-orders/{id}/receive.
        SupplyDesk.applyPurchaseOrder(db, change.payload, clock());
        return 'applied';
      case 'purchase_order.canceled':
        SupplyDesk.applyCanceled(db, change.payload.purchaseOrderId, clock());
        return 'applied';
      case 'production.requested':
        SupplyDesk.applyProduction(db, change.payload, clock());
        return 'applied';
      case 'production.canceled':
        SupplyDesk.applyCanceled(db, change.payload.productionId, clock());
        return 'applied';
    }
  };
}
