import { randomUUID } from 'node:crypto';
import type { EdgeDatabase } from '../db/open.ts';

export type NodeIdentity = { warehouseId: string; edgeId: string; createdMs: number };

/**
 * A database belongs to one warehouse for ever: starting it with another warehouse id is refused.
 * `edgeId` names this database's incarnation: a copy restored from backup must be re-enrolled, and
 * the sync protocol uses the id to tell its regressed seqs from duplicates.
 */
export function ensureNodeIdentity(db: EdgeDatabase, warehouseId: string, nowMs: number): NodeIdentity {
  const read = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const write = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  return db.transaction(() => {
    const existing = read.get('warehouse_id')?.value;
    if (existing !== undefined && existing !== warehouseId) {
      throw new Error(
        `this data directory belongs to warehouse ${existing}, not ${warehouseId}; use its own --data directory`,
      );
    }
    if (existing === undefined) {
      write.run('warehouse_id', warehouseId);
      write.run('edge_id', randomUUID());
      write.run('created_ms', String(nowMs));
    }
    return {
      warehouseId,
      edgeId: read.get('edge_id')?.value as string,
      createdMs: Number(read.get('created_ms')?.value),
    };
  })();
}
