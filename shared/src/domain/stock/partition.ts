import { z } from 'zod';
import { assert } from '../../assert.ts';
import * as limits from '../../limits.ts';

/**
 * The owner's state of one `(warehouse, sku)` stock partition: what the edge writes and the hub
 * replicates. Bins, lots and serials are kept in the state so the ledger folds to all of it.
 *
 * Invariants (enforced by `assertPartition`, checked after every fold step):
 * - every count is a non-negative safe integer and `onHand ≤ partitionOnHandMax`;
 * - units sit in exactly one place: `sum(bins) + picked = onHand`;
 * - `damaged + qualityControl + picked ≤ onHand`;
 * - `sum(lots) ≤ onHand` and `serials.length ≤ onHand` (untracked units are allowed);
 * - bins and lots hold no zero entries and no duplicates; serials are sorted and unique.
 */
export const partitionStateSchema = z.strictObject({
  onHand: z.int().min(0),
  damaged: z.int().min(0),
  qualityControl: z.int().min(0),
  picked: z.int().min(0),
  edgeQuota: z.int().min(0),
  bins: z.array(z.tuple([z.string(), z.int().min(1)])),
  lots: z.array(z.tuple([z.string(), z.int().min(1)])),
  serials: z.array(z.string()),
});
export type PartitionState = z.infer<typeof partitionStateSchema>;

export function emptyPartition(): PartitionState {
  return { onHand: 0, damaged: 0, qualityControl: 0, picked: 0, edgeQuota: 0, bins: [], lots: [], serials: [] };
}

export function sumEntries(entries: ReadonlyArray<readonly [string, number]>): number {
  let total = 0;
  for (const [, quantity] of entries) total += quantity;
  return total;
}

export function entryQuantity(entries: ReadonlyArray<readonly [string, number]>, key: string): number {
  for (const [name, quantity] of entries) if (name === key) return quantity;
  return 0;
}

/** Units that may be sold, picked or sent away: in the building, undamaged, cleared, not staged. */
export function sellable(state: PartitionState): number {
  return state.onHand - state.damaged - state.qualityControl - state.picked;
}

export function assertPartition(state: PartitionState): void {
  for (const key of ['onHand', 'damaged', 'qualityControl', 'picked', 'edgeQuota'] as const) {
    assert(Number.isSafeInteger(state[key]) && state[key] >= 0, `partition.${key} must be a non-negative integer`);
  }
  assert(state.onHand <= limits.partitionOnHandMax, 'partition.onHand within bound');
  assert(sumEntries(state.bins) + state.picked === state.onHand, 'bins + picked = onHand');
  assert(state.damaged + state.qualityControl + state.picked <= state.onHand, 'damaged + qc + picked ≤ onHand');
  assert(sumEntries(state.lots) <= state.onHand, 'lots ≤ onHand');
  assert(state.serials.length <= state.onHand, 'serials ≤ onHand');
  for (const entries of [state.bins, state.lots]) {
    const names = new Set<string>();
    for (const [name, quantity] of entries) {
      assert(quantity > 0 && Number.isSafeInteger(quantity), 'entry quantities are positive integers');
      assert(!names.has(name), `duplicate entry ${name}`);
      names.add(name);
    }
  }
  for (let i = 1; i < state.serials.length; i++) {
    assert((state.serials[i - 1] as string) < (state.serials[i] as string), 'serials sorted and unique');
  }
}

const partitionKeys = Object.keys(partitionStateSchema.shape) as Array<keyof PartitionState>;

/** One string per state, independent of the order its fields were written in. */
function canonicalPartition(state: PartitionState): string {
  return JSON.stringify(partitionKeys.map((key) => state[key]));
}

/**
 * Two states are equal when every quantity, bin, lot and serial is. Entry order is part of state;
 * the order of the object's fields is not (a row read back from a database may list them differently).
 */
export function partitionsEqual(a: PartitionState, b: PartitionState): boolean {
  return canonicalPartition(a) === canonicalPartition(b);
}

/** Field-by-field differences, for `verify` reports. */
export function partitionDifferences(expected: PartitionState, actual: PartitionState): string[] {
  const differences: string[] = [];
  for (const key of Object.keys(expected) as Array<keyof PartitionState>) {
    const left = JSON.stringify(expected[key]);
    const right = JSON.stringify(actual[key]);
    if (left !== right) differences.push(`${key}: ledger ${left} ≠ stored ${right}`);
  }
  return differences;
}

/**
 * A 64-bit FNV-1a digest of the partition's canonical JSON (fields in schema order), as 16 hex
 * digits. Not cryptographic: it finds drift between a replica and its owner, nothing more.
 */
export function partitionChecksum(state: PartitionState): string {
  const canonical = JSON.stringify([
    state.onHand,
    state.damaged,
    state.qualityControl,
    state.picked,
    state.edgeQuota,
    state.bins,
    state.lots,
    state.serials,
  ]);
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < canonical.length; i++) {
    hash ^= BigInt(canonical.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}
