import type { PartitionState } from './partition.ts';

/**
 * The quantities of one partition (docs/architecture.md, "Quantities"; names follow Shopify's inventory states).
 * `available = onHand − committed − reserved − damaged − qualityControl − safetyStock − edgeQuota`,
 * never below zero in what is shown (a shortage is reported separately, not as negative stock).
 */
export type StockQuantities = {
  onHand: number;
  committed: number;
  reserved: number;
  damaged: number;
  qualityControl: number;
  safetyStock: number;
  incoming: number;
  edgeQuota: number;
  picked: number;
  available: number;
};

/** What the partition's owner does not hold: allocations and holds live at the hub, config in settings. */
export type NonOwnerQuantities = { committed: number; reserved: number; safetyStock: number; incoming: number };

export const noNonOwnerQuantities: NonOwnerQuantities = { committed: 0, reserved: 0, safetyStock: 0, incoming: 0 };

export function availableUnits(state: PartitionState, other: NonOwnerQuantities): number {
  return (
    state.onHand -
    other.committed -
    other.reserved -
    state.damaged -
    state.qualityControl -
    other.safetyStock -
    state.edgeQuota
  );
}

export function stockQuantities(
  state: PartitionState,
  other: NonOwnerQuantities = noNonOwnerQuantities,
): StockQuantities {
  return {
    onHand: state.onHand,
    committed: other.committed,
    reserved: other.reserved,
    damaged: state.damaged,
    qualityControl: state.qualityControl,
    safetyStock: other.safetyStock,
    incoming: other.incoming,
    edgeQuota: state.edgeQuota,
    picked: state.picked,
    available: Math.max(0, availableUnits(state, other)),
  };
}
