import { describe, expect, it } from 'vitest';
import {
  type AllocationEvent,
  type AllocationStatus,
  allocationEvents,
  allocationStatuses,
  allocationTransitions,
  transitionAllocation,
} from './status.ts';

const allowed: Array<[AllocationStatus, AllocationEvent, AllocationStatus]> = [
  ['committed', 'ship', 'shipped'],
  ['committed', 'release', 'released'],
  ['committed', 'reroute', 'rerouted'],
  ['committed', 'backorder', 'backordered'],
  ['backordered', 'release', 'released'],
];
const allowedKeys = new Map(allowed.map(([status, event, to]) => [`${status}:${event}`, to]));
const pairs = allocationStatuses.flatMap((status) => allocationEvents.map((event) => [status, event] as const));

describe('the allocation transition table', () => {
  it('decides every status × event pair and nothing else', () => {
    expect(Object.keys(allocationTransitions).sort()).toEqual([...allocationStatuses].sort());
    for (const status of allocationStatuses)
      expect(Object.keys(allocationTransitions[status]).sort()).toEqual([...allocationEvents].sort());
  });

  it.each(pairs)('%s on %s: allowed exactly when listed', (status, event) => {
    const to = allowedKeys.get(`${status}:${event}`);
    expect(allocationTransitions[status][event]).toBe(to ?? null);
    if (to === undefined) expect(() => transitionAllocation(status, event)).toThrow(/cannot take/);
    else expect(transitionAllocation(status, event)).toBe(to);
  });

  it('moves units out of committed once: shipped, released and rerouted are final', () => {
    for (const status of ['shipped', 'released', 'rerouted'] as const)
      for (const event of allocationEvents) expect(allocationTransitions[status][event]).toBeNull();
  });

  it('never ships backordered units: they wait at no warehouse', () => {
    expect(allocationTransitions.backordered.ship).toBeNull();
  });
});
