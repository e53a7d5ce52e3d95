/**
 * What an allocation's units are doing (one order line's units committed at one warehouse once
 * paid). Only `committed` counts in the partition's `committed` quantity.
 */
export const allocationStatuses = ['committed', 'shipped', 'released', 'rerouted', 'backordered'] as const;
export type AllocationStatus = (typeof allocationStatuses)[number];
