import type { AuditTables } from './audit/tables.ts';
import type { CatalogTables } from './catalog/tables.ts';
import type { PersonalDataTables } from './db/personal-data.ts';
import type { DownstreamTables } from './downstream/tables.ts';
import type { FulfillmentFactTables } from './fulfillment/tables.ts';
import type { ShortageTables } from './fulfillment/shortage-tables.ts';
import type { HoldTables } from './holds/tables.ts';
import type { IdempotencyTables } from './idempotency/tables.ts';
import type { IdentityTables } from './identity/tables.ts';
import type { InventoryTables } from './inventory/tables.ts';
import type { JobTables } from './jobs/tables.ts';
import type { NotificationTables } from './notifications/tables.ts';
import type { OrderTables } from './orders/tables.ts';
import type { QuotaTables } from './quotas/tables.ts';
import type { ReturnTables } from './returns/tables.ts';
import type { ShipmentTables } from './shipments/tables.ts';
import type { SupplyTables } from './supply/tables.ts';
import type { SyncTables } from './sync/tables.ts';
import type { WarehouseTables } from './warehouses/tables.ts';
import type { WebhookTables } from './webhooks/tables.ts';

/**
 * Every table of the hub as both adapters store it, composed from the features that own them (each
 * feature's `tables.ts` holds the current shape; `db/migrations/` holds the frozen steps that built
 * it). Portable on purpose: integer quantities and epoch-millisecond times, text ids, JSON as text,
 * booleans as 0/1 integers.
 */
export interface Database
  extends CatalogTables,
    WarehouseTables,
    IdentityTables,
    InventoryTables,
    IdempotencyTables,
    DownstreamTables,
    SyncTables,
    HoldTables,
    OrderTables,
    FulfillmentFactTables,
    ShipmentTables,
    ShortageTables,
    QuotaTables,
    ReturnTables,
    WebhookTables,
    NotificationTables,
    AuditTables,
    PersonalDataTables,
    SupplyTables,
    JobTables {}
