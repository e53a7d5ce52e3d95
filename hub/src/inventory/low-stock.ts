import { fellBelowSafetyStock } from '@dovetail/shared';
import type { Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';

/** The columns of a partition that `available` is made of (docs/architecture.md, "Quantities"). */
export type PartitionFigures = {
  on_hand: number;
  damaged: number;
  quality_control: number;
  committed: number;
  reserved: number;
  safety_stock: number;
  edge_quota: number;
};

export const partitionFigureColumns = [
  'on_hand',
  'damaged',
  'quality_control',
  'committed',
  'reserved',
  'safety_stock',
  'edge_quota',
] as const;

/** `available` (docs/architecture.md, "Quantities") from the row's columns, unclamped (db/available.ts writes the same for SQL). */
export function availableOf(row: PartitionFigures): number {
  return (
    Number(row.on_hand) -
    Number(row.committed) -
    Number(row.reserved) -
    Number(row.damaged) -
    Number(row.quality_control) -
    Number(row.safety_stock) -
    Number(row.edge_quota)
  );
}

/**
 * After a write to a partition (a pushed stock event, a 3PL's stock write), in the same transaction:
 * emits `inventory.low` when the write took `available` below the SKU's safety stock there.
 */
export async function noteLowStock(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  before: PartitionFigures | undefined,
  after: PartitionFigures,
  nowMs: number,
): Promise<void> {
  const safetyStock = Number(after.safety_stock);
  const available = availableOf(after);
  if (!fellBelowSafetyStock(before ? availableOf(before) : undefined, available, safetyStock)) return;
  await emitWebhookEvent(trx, {
    type: 'inventory.low',
    data: {
      warehouseId,
      sku,
      available: Math.max(0, available),
      safetyStock,
      occurredAt: new Date(nowMs).toISOString(),
    },
    warehouseId,
    nowMs,
  });
}
