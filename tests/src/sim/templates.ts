import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createEdgeNode } from '@dovetail/edge';
import { createHub } from '@dovetail/hub';
import { createProduct, createWarehouse, enrollEdge } from '@dovetail/hub/testing';

export const simWarehouseId = 'W1';
export const simEpoch = 1;
/** Products in the template catalog: every SKU the edge starts scanning is known to the hub. */
export const templateProducts = [
  { id: 'p-sofa', name: 'Aster sofa', category: 'sofa', skus: ['SOFA-2S', 'SOFA-3S'] },
  { id: 'p-bed', name: 'Linnea bed', category: 'bed', skus: ['BED-140', 'BED-160'] },
  { id: 'p-lamp', name: 'Halo lamp', category: 'lighting', skus: ['LAMP-1'] },
] as const;
export const templateMs = 1_790_000_000_000;
/**
 * SKUs that may be pre-ordered against purchase orders (docs/catalog.md, "Pre-orders and
 * made-to-order"), and how many units of incoming may be promised at once.
 */
export const templatePreorderCaps: Readonly<Record<string, number>> = { 'SOFA-2S': 4, 'BED-140': 3 };
/**
 * A made-to-order SKU made at the simulated warehouse: known to the hub's catalog but not among the
 * products the edge scans at random, so only commerce orders it and only production receipts stock it.
 */
export const templateMadeToOrderSku = 'CHAIR-MTO';

export type Templates = { dir: string; hubFile: string; edgeFile: string };

/**
 * Creating and migrating two databases per schedule costs more than the schedule itself: both are
 * migrated and seeded once here, closed, and every schedule copies the files.
 */
export async function createTemplates(baseDir = process.env['SIM_DIR'] || os.tmpdir()): Promise<Templates> {
  const dir = fs.mkdtempSync(path.join(baseDir, 'dovetail-sim-'));
  const logger = pino({ level: 'silent' });
  const hubFile = path.join(dir, 'hub.db');
  const hub = await createHub({
    storage: { kind: 'sqlite', file: hubFile },
    adminSecret: 'sim-admin-secret-0123456789',
    logger,
    nowMs: () => templateMs,
  });
  try {
    await createWarehouse(
      hub.deps.db,
      { id: simWarehouseId, name: 'Simulated warehouse', kind: 'warehouse', location: { lat: 52.5, lon: 13.4 } },
      templateMs,
    );
    const enrollment = await enrollEdge(hub.deps.db, simWarehouseId, templateMs);
    if (enrollment.epoch !== simEpoch) throw new Error(`template enrollment has epoch ${enrollment.epoch}`);
    for (const product of templateProducts) {
      await createProduct(
        hub.deps.db,
        {
          name: product.name,
          category: product.category,
          basePrice: 100_00,
          currency: 'EUR',
          variants: product.skus.map((sku, index) => ({
            sku,
            options: { size: String(index + 1) },
            ...(templatePreorderCaps[sku] ? { preorderCap: templatePreorderCaps[sku] } : {}),
          })),
        },
        templateMs,
        product.id,
      );
    }
    await createProduct(
      hub.deps.db,
      {
        name: 'Bergen armchair',
        category: 'armchair',
        basePrice: 400_00,
        currency: 'EUR',
        variants: [
          {
            sku: templateMadeToOrderSku,
            options: { size: '1' },
            fulfillment: 'made_to_order',
            leadTimeDays: 10,
            productionWarehouseId: simWarehouseId,
          },
        ],
      },
      templateMs,
      'p-mto',
    );
  } finally {
    await hub.close();
  }
  const edgeDir = path.join(dir, 'edge');
  const edge = await createEdgeNode({ dataDir: edgeDir, warehouseId: simWarehouseId, logger, nowMs: () => templateMs });
  await edge.close();
  for (const file of [hubFile, path.join(edgeDir, 'edge.sqlite')]) {
    for (const suffix of ['-wal', '-shm']) {
      if (fs.existsSync(file + suffix) && fs.statSync(file + suffix).size > 0 && suffix === '-wal') {
        throw new Error(`${file}${suffix} was not checkpointed on close`);
      }
    }
  }
  return { dir, hubFile, edgeFile: path.join(edgeDir, 'edge.sqlite') };
}

/** A directory for one world at a time, reused by the schedules run in it. */
export function worldDir(templates: Templates, slot = 0): string {
  return path.join(templates.dir, `world-${slot}`);
}

export function removeTemplates(templates: Templates): void {
  fs.rmSync(templates.dir, { recursive: true, force: true });
}
