import { describe, expect, it } from 'vitest';
import * as limits from '../../limits.ts';
import {
  type StockRejectionReason,
  applyStockEvent,
  countDelta,
  foldStockEvents,
  stockRejectionReasons,
} from './apply.ts';
import { type PartitionState, assertPartition, emptyPartition, partitionsEqual } from './partition.ts';
import { DEFAULT_BIN, type StockEventBody, stockEventTypes } from './schemas.ts';

const U = DEFAULT_BIN;
const sku = 'SOFA-3S-BOUCLE';

/** A fixture state; fixtures must themselves satisfy the partition invariants. */
function partition(fields: Partial<PartitionState>): PartitionState {
  const state = { ...emptyPartition(), ...fields };
  assertPartition(state);
  return state;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Applies to frozen copies (so any mutation of the inputs throws) and checks the inputs are intact. */
function apply(given: PartitionState, event: StockEventBody) {
  const state = deepFreeze(structuredClone(given));
  const frozenEvent = deepFreeze(structuredClone(event));
  const result = applyStockEvent(state, frozenEvent);
  expect(state).toEqual(given);
  return result;
}

type Accepted = { name: string; given: PartitionState; event: StockEventBody; expected: PartitionState };
type Rejected = { name: string; given: PartitionState; event: StockEventBody; reason: StockRejectionReason };

const accepted: Accepted[] = [
  // receive
  {
    name: 'receive puts units in the UNASSIGNED bin when the scan names no bin',
    given: emptyPartition(),
    event: { type: 'receive', sku, quantity: 3 },
    expected: partition({ onHand: 3, bins: [[U, 3]] }),
  },
  {
    name: 'receive adds to a named bin in place',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        ['B-01', 3],
      ],
    }),
    event: { type: 'receive', sku, quantity: 4, bin: 'A-01' },
    expected: partition({
      onHand: 9,
      bins: [
        ['A-01', 6],
        ['B-01', 3],
      ],
    }),
  },
  {
    name: 'receive appends a bin it has not seen after the existing ones',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        ['B-01', 3],
      ],
    }),
    event: { type: 'receive', sku, quantity: 1, bin: 'C-01' },
    expected: partition({
      onHand: 6,
      bins: [
        ['A-01', 2],
        ['B-01', 3],
        ['C-01', 1],
      ],
    }),
  },
  {
    name: 'receive into a lot records the lot beside the bin',
    given: partition({ onHand: 2, bins: [[U, 2]] }),
    event: { type: 'receive', sku, quantity: 3, bin: 'A-01', lot: 'L-2024-07' },
    expected: partition({
      onHand: 5,
      bins: [
        [U, 2],
        ['A-01', 3],
      ],
      lots: [['L-2024-07', 3]],
    }),
  },
  {
    name: 'receive adds to an existing lot in place',
    given: partition({
      onHand: 4,
      bins: [[U, 4]],
      lots: [
        ['L1', 1],
        ['L2', 2],
      ],
    }),
    event: { type: 'receive', sku, quantity: 2, lot: 'L1' },
    expected: partition({
      onHand: 6,
      bins: [[U, 6]],
      lots: [
        ['L1', 3],
        ['L2', 2],
      ],
    }),
  },
  {
    name: 'receive merges scanned serials into the sorted serial list',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['SN-2'] }),
    event: { type: 'receive', sku, quantity: 2, serials: ['SN-3', 'SN-1'] },
    expected: partition({ onHand: 3, bins: [[U, 3]], serials: ['SN-1', 'SN-2', 'SN-3'] }),
  },
  {
    name: 'receive leaves damaged, quality control, picked and quota as they were',
    given: partition({ onHand: 5, damaged: 1, qualityControl: 1, picked: 2, edgeQuota: 1, bins: [[U, 3]] }),
    event: { type: 'receive', sku, quantity: 1 },
    expected: partition({ onHand: 6, damaged: 1, qualityControl: 1, picked: 2, edgeQuota: 1, bins: [[U, 4]] }),
  },
  // transfer_in
  {
    name: 'transfer in lands units like a receive, with bin, lot and serials',
    given: partition({ onHand: 1, bins: [[U, 1]] }),
    event: {
      type: 'transfer_in',
      sku,
      quantity: 2,
      bin: 'B-02',
      lot: 'L9',
      serials: ['X2', 'X1'],
      transferId: 'T-1',
      fromWarehouseId: 'berlin',
    },
    expected: partition({
      onHand: 3,
      bins: [
        [U, 1],
        ['B-02', 2],
      ],
      lots: [['L9', 2]],
      serials: ['X1', 'X2'],
    }),
  },
  // return_restock
  {
    name: 'a sellable return goes back on the shelf as sellable stock',
    given: partition({ onHand: 1, bins: [[U, 1]] }),
    event: { type: 'return_restock', sku, quantity: 2, bin: 'R-01', rma: 'RMA-7', condition: 'sellable' },
    expected: partition({
      onHand: 3,
      bins: [
        [U, 1],
        ['R-01', 2],
      ],
    }),
  },
  {
    name: 'a damaged return is on hand and counted as damaged',
    given: partition({ onHand: 1, damaged: 1, bins: [[U, 1]] }),
    event: { type: 'return_restock', sku, quantity: 2, rma: 'RMA-8', condition: 'damaged', serials: ['S1', 'S2'] },
    expected: partition({ onHand: 3, damaged: 3, bins: [[U, 3]], serials: ['S1', 'S2'] }),
  },
  // adjust
  {
    name: 'a found adjustment adds units to the named bin',
    given: partition({ onHand: 1, bins: [['A-01', 1]] }),
    event: { type: 'adjust', sku, delta: 2, reason: 'found', bin: 'A-01' },
    expected: partition({ onHand: 3, bins: [['A-01', 3]] }),
  },
  {
    name: 'a negative adjustment without a bin takes from UNASSIGNED first',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        [U, 3],
      ],
    }),
    event: { type: 'adjust', sku, delta: -3, reason: 'lost' },
    expected: partition({ onHand: 2, bins: [['A-01', 2]] }),
  },
  {
    name: 'a negative adjustment larger than UNASSIGNED continues with the other bins in order',
    given: partition({
      onHand: 7,
      bins: [
        ['A-01', 2],
        ['B-01', 2],
        [U, 3],
      ],
    }),
    event: { type: 'adjust', sku, delta: -4, reason: 'lost' },
    expected: partition({
      onHand: 3,
      bins: [
        ['A-01', 1],
        ['B-01', 2],
      ],
    }),
  },
  {
    name: 'a negative adjustment on a named bin takes only from that bin',
    given: partition({
      onHand: 4,
      bins: [
        [U, 2],
        ['A-01', 2],
      ],
    }),
    event: { type: 'adjust', sku, delta: -1, reason: 'theft', bin: 'A-01' },
    expected: partition({
      onHand: 3,
      bins: [
        [U, 2],
        ['A-01', 1],
      ],
    }),
  },
  {
    name: 'a negative adjustment removes untracked units before lots, then lots oldest first',
    given: partition({
      onHand: 6,
      bins: [[U, 6]],
      lots: [
        ['L1', 2],
        ['L2', 2],
      ],
    }),
    event: { type: 'adjust', sku, delta: -3, reason: 'correction' },
    expected: partition({
      onHand: 3,
      bins: [[U, 3]],
      lots: [
        ['L1', 1],
        ['L2', 2],
      ],
    }),
  },
  {
    name: 'a negative adjustment naming a lot takes from that lot',
    given: partition({
      onHand: 6,
      bins: [[U, 6]],
      lots: [
        ['L1', 2],
        ['L2', 2],
      ],
    }),
    event: { type: 'adjust', sku, delta: -2, reason: 'correction', lot: 'L2' },
    expected: partition({ onHand: 4, bins: [[U, 4]], lots: [['L1', 2]] }),
  },
  {
    name: 'a loss that leaves fewer units than are marked damaged clamps damaged to what is left',
    given: partition({ onHand: 3, damaged: 3, bins: [[U, 3]] }),
    event: { type: 'adjust', sku, delta: -2, reason: 'lost' },
    expected: partition({ onHand: 1, damaged: 1, bins: [[U, 1]] }),
  },
  {
    name: 'a loss clamps quality control after damaged',
    given: partition({ onHand: 4, damaged: 1, qualityControl: 2, bins: [[U, 4]] }),
    event: { type: 'adjust', sku, delta: -2, reason: 'other' },
    expected: partition({ onHand: 2, damaged: 1, qualityControl: 1, bins: [[U, 2]] }),
  },
  {
    name: 'a negative adjustment never takes picked units',
    given: partition({ onHand: 5, picked: 2, bins: [[U, 3]] }),
    event: { type: 'adjust', sku, delta: -3, reason: 'lost' },
    expected: partition({ onHand: 2, picked: 2 }),
  },
  {
    name: 'a write-off removes damaged units from on hand',
    given: partition({ onHand: 5, damaged: 2, bins: [[U, 5]] }),
    event: { type: 'adjust', sku, delta: -2, reason: 'write_off' },
    expected: partition({ onHand: 3, bins: [[U, 3]] }),
  },
  {
    name: 'a write-off leaves quality control units alone',
    given: partition({ onHand: 5, damaged: 2, qualityControl: 3, bins: [[U, 5]] }),
    event: { type: 'adjust', sku, delta: -2, reason: 'write_off' },
    expected: partition({ onHand: 3, qualityControl: 3, bins: [[U, 3]] }),
  },
  {
    name: 'a write-off of a damaged serialized unit removes its serial',
    given: partition({ onHand: 2, damaged: 1, bins: [[U, 2]], serials: ['S1', 'S2'] }),
    event: { type: 'adjust', sku, delta: -1, reason: 'write_off', serials: ['S2'] },
    expected: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
  },
  // count
  {
    name: 'a count of a bin that finds more adds the difference to that bin',
    given: partition({
      onHand: 2,
      bins: [
        ['A-01', 1],
        ['B-01', 1],
      ],
    }),
    event: { type: 'count', sku, bin: 'B-01', countedQuantity: 3, delta: 2 },
    expected: partition({
      onHand: 4,
      bins: [
        ['A-01', 1],
        ['B-01', 3],
      ],
    }),
  },
  {
    name: 'a count of a bin that finds fewer removes the difference from that bin only',
    given: partition({
      onHand: 5,
      bins: [
        [U, 3],
        ['A-01', 2],
      ],
    }),
    event: { type: 'count', sku, bin: 'A-01', countedQuantity: 0, delta: -2 },
    expected: partition({ onHand: 3, bins: [[U, 3]] }),
  },
  {
    name: 'a whole-partition count that finds more puts the surplus in UNASSIGNED',
    given: partition({ onHand: 2, bins: [['A-01', 2]] }),
    event: { type: 'count', sku, countedQuantity: 5, delta: 3 },
    expected: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        [U, 3],
      ],
    }),
  },
  {
    name: 'a whole-partition count that finds fewer takes from UNASSIGNED first',
    given: partition({
      onHand: 4,
      bins: [
        ['A-01', 2],
        [U, 2],
      ],
    }),
    event: { type: 'count', sku, countedQuantity: 1, delta: -3 },
    expected: partition({ onHand: 1, bins: [['A-01', 1]] }),
  },
  {
    name: 'a whole-partition count below what sits in bins takes the rest from the picked staging area',
    given: partition({ onHand: 5, picked: 3, bins: [['A-01', 2]] }),
    event: { type: 'count', sku, countedQuantity: 1, delta: -4 },
    expected: partition({ onHand: 1, picked: 1 }),
  },
  {
    name: 'a whole-partition count of zero with everything picked empties the staging area',
    given: partition({ onHand: 3, picked: 3 }),
    event: { type: 'count', sku, countedQuantity: 0, delta: -3 },
    expected: emptyPartition(),
  },
  {
    name: 'a whole-partition count that finds fewer keeps picked units while bins cover the loss',
    given: partition({ onHand: 8, picked: 3, bins: [['A-01', 5]] }),
    event: { type: 'count', sku, countedQuantity: 6, delta: -2 },
    expected: partition({ onHand: 6, picked: 3, bins: [['A-01', 3]] }),
  },
  {
    name: 'a count that matches changes nothing',
    given: partition({ onHand: 4, damaged: 1, bins: [['A-01', 4]], lots: [['L1', 2]] }),
    event: { type: 'count', sku, bin: 'A-01', countedQuantity: 4, delta: 0 },
    expected: partition({ onHand: 4, damaged: 1, bins: [['A-01', 4]], lots: [['L1', 2]] }),
  },
  {
    name: 'a count that finds fewer units than are damaged clamps damaged',
    given: partition({ onHand: 3, damaged: 3, bins: [[U, 3]] }),
    event: { type: 'count', sku, countedQuantity: 1, delta: -2 },
    expected: partition({ onHand: 1, damaged: 1, bins: [[U, 1]] }),
  },
  {
    name: 'a count that finds fewer removes untracked units before lots',
    given: partition({ onHand: 4, bins: [[U, 4]], lots: [['L1', 3]] }),
    event: { type: 'count', sku, countedQuantity: 2, delta: -2 },
    expected: partition({ onHand: 2, bins: [[U, 2]], lots: [['L1', 2]] }),
  },
  // damage
  {
    name: 'damage marks sellable units damaged without moving them',
    given: partition({ onHand: 4, bins: [[U, 4]] }),
    event: { type: 'damage', sku, quantity: 1 },
    expected: partition({ onHand: 4, damaged: 1, bins: [[U, 4]] }),
  },
  {
    name: 'damage naming a lot and a serial in stock keeps the lot and the serial',
    given: partition({ onHand: 2, bins: [[U, 2]], lots: [['L1', 2]], serials: ['S1', 'S2'] }),
    event: { type: 'damage', sku, quantity: 1, lot: 'L1', serials: ['S1'] },
    expected: partition({ onHand: 2, damaged: 1, bins: [[U, 2]], lots: [['L1', 2]], serials: ['S1', 'S2'] }),
  },
  // move
  {
    name: 'move takes units from one bin to another',
    given: partition({ onHand: 3, bins: [['A-01', 3]] }),
    event: { type: 'move', sku, quantity: 2, fromBin: 'A-01', toBin: 'B-01' },
    expected: partition({
      onHand: 3,
      bins: [
        ['A-01', 1],
        ['B-01', 2],
      ],
    }),
  },
  {
    name: 'moving a whole bin leaves no empty entry behind',
    given: partition({
      onHand: 3,
      bins: [
        [U, 2],
        ['B-01', 1],
      ],
    }),
    event: { type: 'move', sku, quantity: 2, fromBin: U, toBin: 'B-01' },
    expected: partition({ onHand: 3, bins: [['B-01', 3]] }),
  },
  {
    name: 'move keeps damaged, picked, lots and serials',
    given: partition({ onHand: 4, damaged: 1, picked: 1, bins: [['A-01', 3]], lots: [['L1', 2]], serials: ['S1'] }),
    event: { type: 'move', sku, quantity: 1, fromBin: 'A-01', toBin: 'B-01', lot: 'L1', serials: ['S1'] },
    expected: partition({
      onHand: 4,
      damaged: 1,
      picked: 1,
      bins: [
        ['A-01', 2],
        ['B-01', 1],
      ],
      lots: [['L1', 2]],
      serials: ['S1'],
    }),
  },
  // transfer_out
  {
    name: 'transfer out takes UNASSIGNED first, untracked units first, then lots oldest first',
    given: partition({
      onHand: 10,
      bins: [
        ['A-01', 4],
        [U, 6],
      ],
      lots: [
        ['L1', 3],
        ['L2', 4],
      ],
    }),
    event: { type: 'transfer_out', sku, quantity: 5, transferId: 'T-2', toWarehouseId: 'paris' },
    expected: partition({
      onHand: 5,
      bins: [
        ['A-01', 4],
        [U, 1],
      ],
      lots: [
        ['L1', 1],
        ['L2', 4],
      ],
    }),
  },
  {
    name: 'transfer out of a named lot and bin takes exactly those',
    given: partition({
      onHand: 10,
      bins: [
        ['A-01', 4],
        [U, 6],
      ],
      lots: [
        ['L1', 3],
        ['L2', 4],
      ],
    }),
    event: {
      type: 'transfer_out',
      sku,
      quantity: 2,
      bin: 'A-01',
      lot: 'L2',
      transferId: 'T-3',
      toWarehouseId: 'paris',
    },
    expected: partition({
      onHand: 8,
      bins: [
        ['A-01', 2],
        [U, 6],
      ],
      lots: [
        ['L1', 3],
        ['L2', 2],
      ],
    }),
  },
  {
    name: 'transfer out of serialized units removes the scanned serials',
    given: partition({ onHand: 3, bins: [[U, 3]], serials: ['S1', 'S2', 'S3'] }),
    event: { type: 'transfer_out', sku, quantity: 2, serials: ['S3', 'S1'], transferId: 'T-4', toWarehouseId: 'paris' },
    expected: partition({ onHand: 1, bins: [[U, 1]], serials: ['S2'] }),
  },
  {
    name: 'transfer out of unserialized units from mixed stock needs no scan',
    given: partition({ onHand: 3, bins: [[U, 3]], serials: ['S1'] }),
    event: { type: 'transfer_out', sku, quantity: 2, transferId: 'T-5', toWarehouseId: 'paris' },
    expected: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
  },
  // pick
  {
    name: 'pick stages units out of their bins, UNASSIGNED first',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        [U, 3],
      ],
    }),
    event: { type: 'pick', sku, quantity: 4, fulfillmentId: 'F-1' },
    expected: partition({ onHand: 5, picked: 4, bins: [['A-01', 1]] }),
  },
  {
    name: 'pick from a named bin takes from that bin',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 2],
        [U, 3],
      ],
    }),
    event: { type: 'pick', sku, quantity: 2, bin: 'A-01', fulfillmentId: 'F-1' },
    expected: partition({ onHand: 5, picked: 2, bins: [[U, 3]] }),
  },
  // ship
  {
    name: 'ship sends picked units away and leaves the bins alone',
    given: partition({ onHand: 5, picked: 2, bins: [[U, 3]] }),
    event: { type: 'ship', sku, quantity: 2, fulfillmentId: 'F-1' },
    expected: partition({ onHand: 3, bins: [[U, 3]] }),
  },
  {
    name: 'ship of a serialized unit removes its serial',
    given: partition({ onHand: 2, picked: 1, bins: [[U, 1]], serials: ['S1', 'S2'] }),
    event: { type: 'ship', sku, quantity: 1, serials: ['S2'], fulfillmentId: 'F-2' },
    expected: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
  },
  {
    name: 'ship without a lot releases lots oldest first once untracked units run out',
    given: partition({
      onHand: 4,
      picked: 4,
      lots: [
        ['L1', 2],
        ['L2', 2],
      ],
    }),
    event: { type: 'ship', sku, quantity: 3, fulfillmentId: 'F-3' },
    expected: partition({ onHand: 1, picked: 1, lots: [['L2', 1]] }),
  },
  {
    name: 'ship naming a lot releases that lot',
    given: partition({
      onHand: 4,
      picked: 2,
      bins: [[U, 2]],
      lots: [
        ['L1', 2],
        ['L2', 2],
      ],
    }),
    event: { type: 'ship', sku, quantity: 2, lot: 'L2', fulfillmentId: 'F-4' },
    expected: partition({ onHand: 2, bins: [[U, 2]], lots: [['L1', 2]] }),
  },
  // unpick
  {
    name: 'unpick puts picked units back in the named bin',
    given: partition({ onHand: 5, picked: 2, bins: [[U, 3]] }),
    event: { type: 'unpick', sku, quantity: 2, bin: 'A-01', fulfillmentId: 'F-1' },
    expected: partition({
      onHand: 5,
      bins: [
        [U, 3],
        ['A-01', 2],
      ],
    }),
  },
  {
    name: 'unpick without a bin puts units back in the default bin',
    given: partition({ onHand: 2, picked: 2 }),
    event: { type: 'unpick', sku, quantity: 1, fulfillmentId: 'F-1' },
    expected: partition({ onHand: 2, picked: 1, bins: [[U, 1]] }),
  },
  // instore_sale
  {
    name: 'an in-store sale spends quota and removes the units',
    given: partition({ onHand: 3, edgeQuota: 2, bins: [[U, 3]] }),
    event: { type: 'instore_sale', sku, quantity: 2, saleId: 'POS-1' },
    expected: partition({ onHand: 1, bins: [[U, 1]] }),
  },
  {
    name: 'an in-store sale of a serialized unit removes its serial',
    given: partition({ onHand: 2, edgeQuota: 2, bins: [['SHOWROOM', 2]], serials: ['S1', 'S2'] }),
    event: { type: 'instore_sale', sku, quantity: 1, bin: 'SHOWROOM', serials: ['S1'] },
    expected: partition({ onHand: 1, edgeQuota: 1, bins: [['SHOWROOM', 1]], serials: ['S2'] }),
  },
  // quota
  {
    name: 'a quota grant adds to the edge quota and nothing else',
    given: partition({ onHand: 3, edgeQuota: 1, bins: [[U, 3]] }),
    event: { type: 'quota_grant', sku, quantity: 2 },
    expected: partition({ onHand: 3, edgeQuota: 3, bins: [[U, 3]] }),
  },
  {
    name: 'a reconcile restates the whole partition as the owner holds it',
    given: partition({ onHand: 3, damaged: 1, bins: [[U, 3]] }),
    event: { type: 'reconcile', sku, state: partition({ onHand: 5, bins: [['A-1', 5]], serials: [] }) },
    expected: partition({ onHand: 5, bins: [['A-1', 5]] }),
  },
  {
    name: 'a quota return gives unused quota back',
    given: partition({ onHand: 3, edgeQuota: 3, bins: [[U, 3]] }),
    event: { type: 'quota_return', sku, quantity: 3 },
    expected: partition({ onHand: 3, bins: [[U, 3]] }),
  },
];

function binsNamed(count: number): Array<[string, number]> {
  return Array.from({ length: count }, (_, i) => [`B${String(i).padStart(4, '0')}`, 1] as [string, number]);
}
function serialsNamed(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `S${String(i).padStart(6, '0')}`);
}

/** One witness for every reason code: the compiler insists the table names them all. */
const witnesses: Record<StockRejectionReason, Omit<Rejected, 'reason'>> = {
  insufficient_on_hand: {
    name: 'a loss larger than on hand is refused',
    given: partition({ onHand: 3, bins: [[U, 3]] }),
    event: { type: 'adjust', sku, delta: -4, reason: 'lost' },
  },
  insufficient_sellable: {
    name: 'a transfer out of damaged units is refused',
    given: partition({ onHand: 3, damaged: 2, bins: [[U, 3]] }),
    event: { type: 'transfer_out', sku, quantity: 2, transferId: 'T', toWarehouseId: 'paris' },
  },
  insufficient_in_bin: {
    name: 'a pick from a bin holding too few is refused even when other bins hold enough',
    given: partition({
      onHand: 6,
      bins: [
        ['A-01', 1],
        [U, 5],
      ],
    }),
    event: { type: 'pick', sku, quantity: 2, bin: 'A-01', fulfillmentId: 'F' },
  },
  insufficient_lot: {
    name: 'a transfer out of more than the named lot holds is refused',
    given: partition({ onHand: 5, bins: [[U, 5]], lots: [['L1', 1]] }),
    event: { type: 'transfer_out', sku, quantity: 2, lot: 'L1', transferId: 'T', toWarehouseId: 'paris' },
  },
  insufficient_picked: {
    name: 'shipping units that were never picked is refused',
    given: partition({ onHand: 5, picked: 1, bins: [[U, 4]] }),
    event: { type: 'ship', sku, quantity: 2, fulfillmentId: 'F' },
  },
  insufficient_damaged: {
    name: 'writing off more than is damaged is refused',
    given: partition({ onHand: 5, damaged: 2, bins: [[U, 5]] }),
    event: { type: 'adjust', sku, delta: -3, reason: 'write_off' },
  },
  serial_count_mismatch: {
    name: 'receiving three units with two serials is refused',
    given: emptyPartition(),
    event: { type: 'receive', sku, quantity: 3, serials: ['S1', 'S2'] },
  },
  serial_already_in_stock: {
    name: 'receiving a serial that is already in stock is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'receive', sku, quantity: 1, serials: ['S1'] },
  },
  serial_not_in_stock: {
    name: 'a transfer out of a serial that is not here is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'transfer_out', sku, quantity: 1, serials: ['S9'], transferId: 'T', toWarehouseId: 'paris' },
  },
  serial_required: {
    name: 'a transfer out of serialized stock without scanning serials is refused',
    given: partition({ onHand: 2, bins: [[U, 2]], serials: ['S1'] }),
    event: { type: 'transfer_out', sku, quantity: 2, transferId: 'T', toWarehouseId: 'paris' },
  },
  write_off_must_remove: {
    name: 'a positive write-off is refused',
    given: partition({ onHand: 5, damaged: 2, bins: [[U, 5]] }),
    event: { type: 'adjust', sku, delta: 1, reason: 'write_off' },
  },
  quota_exhausted: {
    name: 'an in-store sale beyond the quota is refused',
    given: partition({ onHand: 5, edgeQuota: 1, bins: [[U, 5]] }),
    event: { type: 'instore_sale', sku, quantity: 2 },
  },
  reconcile_state_invalid: {
    name: 'a restated partition that breaks an invariant is refused',
    given: partition({ onHand: 1, bins: [[U, 1]] }),
    event: { type: 'reconcile', sku, state: { ...partition({ onHand: 1, bins: [[U, 1]] }), onHand: 2 } },
  },
  partition_limit_exceeded: {
    name: 'a receive that would take on hand past the partition bound is refused',
    given: partition({ onHand: limits.partitionOnHandMax, bins: [[U, limits.partitionOnHandMax]] }),
    event: { type: 'receive', sku, quantity: 1 },
  },
};

const rejected: Rejected[] = [
  ...stockRejectionReasons.map((reason) => ({ ...witnesses[reason], reason })),
  // insufficient_on_hand
  {
    name: 'a raw count delta below zero on hand is refused',
    given: partition({ onHand: 1, bins: [['A-01', 1]] }),
    event: { type: 'count', sku, bin: 'A-01', countedQuantity: 0, delta: -2 },
    reason: 'insufficient_on_hand',
  },
  {
    name: 'a whole-partition count delta below zero on hand is refused',
    given: partition({ onHand: 3, picked: 2, bins: [[U, 1]] }),
    event: { type: 'count', sku, countedQuantity: 0, delta: -4 },
    reason: 'insufficient_on_hand',
  },
  // insufficient_sellable
  {
    name: 'picking units that are already picked is refused',
    given: partition({ onHand: 3, picked: 2, bins: [[U, 1]] }),
    event: { type: 'pick', sku, quantity: 2, fulfillmentId: 'F' },
    reason: 'insufficient_sellable',
  },
  {
    name: 'damaging units held in quality control is refused',
    given: partition({ onHand: 3, qualityControl: 2, bins: [[U, 3]] }),
    event: { type: 'damage', sku, quantity: 2 },
    reason: 'insufficient_sellable',
  },
  {
    name: 'an in-store sale of damaged units is refused even within quota',
    given: partition({ onHand: 2, damaged: 1, edgeQuota: 2, bins: [[U, 2]] }),
    event: { type: 'instore_sale', sku, quantity: 2 },
    reason: 'insufficient_sellable',
  },
  // insufficient_in_bin
  {
    name: 'a move out of an empty bin is refused',
    given: partition({ onHand: 2, bins: [[U, 2]] }),
    event: { type: 'move', sku, quantity: 1, fromBin: 'A-01', toBin: 'B-01' },
    reason: 'insufficient_in_bin',
  },
  {
    name: 'a loss from a bin holding too few is refused',
    given: partition({
      onHand: 5,
      bins: [
        ['A-01', 1],
        ['B-01', 4],
      ],
    }),
    event: { type: 'count', sku, bin: 'A-01', countedQuantity: 0, delta: -2 },
    reason: 'insufficient_in_bin',
  },
  {
    name: 'a write-off from a bin that does not hold the damaged units is refused',
    given: partition({ onHand: 3, damaged: 2, bins: [['A-01', 3]] }),
    event: { type: 'adjust', sku, delta: -2, reason: 'write_off', bin: 'B-01' },
    reason: 'insufficient_in_bin',
  },
  // insufficient_lot
  {
    name: 'damage naming a lot that is not here is refused',
    given: partition({ onHand: 3, bins: [[U, 3]], lots: [['L1', 3]] }),
    event: { type: 'damage', sku, quantity: 1, lot: 'L2' },
    reason: 'insufficient_lot',
  },
  {
    name: 'a move naming a lot that holds too few is refused',
    given: partition({ onHand: 3, bins: [['A-01', 3]], lots: [['L1', 1]] }),
    event: { type: 'move', sku, quantity: 2, fromBin: 'A-01', toBin: 'B-01', lot: 'L1' },
    reason: 'insufficient_lot',
  },
  {
    name: 'a pick naming a lot that holds too few is refused',
    given: partition({ onHand: 3, bins: [['A-01', 3]], lots: [['L1', 1]] }),
    event: { type: 'pick', sku, quantity: 2, lot: 'L1', fulfillmentId: 'F' },
    reason: 'insufficient_lot',
  },
  {
    name: 'a ship naming a lot that holds too few is refused',
    given: partition({ onHand: 3, picked: 2, bins: [['A-01', 1]], lots: [['L1', 1]] }),
    event: { type: 'ship', sku, quantity: 2, lot: 'L1', fulfillmentId: 'F' },
    reason: 'insufficient_lot',
  },
  // serial_count_mismatch
  {
    name: 'a transfer out with more serials than units is refused',
    given: partition({ onHand: 2, bins: [[U, 2]], serials: ['S1', 'S2'] }),
    event: { type: 'transfer_out', sku, quantity: 1, serials: ['S1', 'S2'], transferId: 'T', toWarehouseId: 'paris' },
    reason: 'serial_count_mismatch',
  },
  {
    name: 'a move with fewer serials than units is refused',
    given: partition({ onHand: 2, bins: [['A-01', 2]], serials: ['S1', 'S2'] }),
    event: { type: 'move', sku, quantity: 2, fromBin: 'A-01', toBin: 'B-01', serials: ['S1'] },
    reason: 'serial_count_mismatch',
  },
  {
    name: 'a serial count mismatch is reported before a duplicate serial',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'receive', sku, quantity: 2, serials: ['S1'] },
    reason: 'serial_count_mismatch',
  },
  // serial_already_in_stock
  {
    name: 'a transfer in of a serial that is already here is refused',
    given: partition({ onHand: 2, bins: [[U, 2]], serials: ['S1', 'S2'] }),
    event: {
      type: 'transfer_in',
      sku,
      quantity: 2,
      serials: ['S3', 'S2'],
      transferId: 'T',
      fromWarehouseId: 'paris',
    },
    reason: 'serial_already_in_stock',
  },
  {
    name: 'a return of a serial that never left is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'return_restock', sku, quantity: 1, serials: ['S1'], rma: 'R', condition: 'damaged' },
    reason: 'serial_already_in_stock',
  },
  // serial_not_in_stock
  {
    name: 'shipping a serial that is not here is refused',
    given: partition({ onHand: 1, picked: 1, serials: ['S1'] }),
    event: { type: 'ship', sku, quantity: 1, serials: ['S2'], fulfillmentId: 'F' },
    reason: 'serial_not_in_stock',
  },
  {
    name: 'damaging a serial that is not here is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'damage', sku, quantity: 1, serials: ['S2'] },
    reason: 'serial_not_in_stock',
  },
  {
    name: 'picking a serial that is not here is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'pick', sku, quantity: 1, serials: ['S2'], fulfillmentId: 'F' },
    reason: 'serial_not_in_stock',
  },
  // serial_required
  {
    name: 'shipping serialized stock without serials is refused',
    given: partition({ onHand: 1, picked: 1, serials: ['S1'] }),
    event: { type: 'ship', sku, quantity: 1, fulfillmentId: 'F' },
    reason: 'serial_required',
  },
  {
    name: 'an in-store sale of serialized stock without serials is refused',
    given: partition({ onHand: 1, edgeQuota: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'instore_sale', sku, quantity: 1 },
    reason: 'serial_required',
  },
  {
    name: 'a loss of serialized stock without serials is refused',
    given: partition({ onHand: 1, bins: [[U, 1]], serials: ['S1'] }),
    event: { type: 'adjust', sku, delta: -1, reason: 'lost' },
    reason: 'serial_required',
  },
  {
    name: 'a count that finds a serialized unit missing is refused, as counts carry no serials',
    given: partition({ onHand: 2, bins: [[U, 2]], serials: ['S1', 'S2'] }),
    event: { type: 'count', sku, countedQuantity: 1, delta: -1 },
    reason: 'serial_required',
  },
  // quota_exhausted
  {
    name: 'returning more quota than the edge holds is refused',
    given: partition({ onHand: 5, edgeQuota: 2, bins: [[U, 5]] }),
    event: { type: 'quota_return', sku, quantity: 3 },
    reason: 'quota_exhausted',
  },
  {
    name: 'quota is checked before sellable units for an in-store sale',
    given: partition({ onHand: 1, damaged: 1, bins: [[U, 1]] }),
    event: { type: 'instore_sale', sku, quantity: 1 },
    reason: 'quota_exhausted',
  },
  // partition_limit_exceeded
  {
    name: 'a count that would take on hand past the partition bound is refused',
    given: partition({ onHand: 10, bins: [[U, 10]] }),
    event: { type: 'count', sku, countedQuantity: limits.partitionOnHandMax + 1, delta: limits.partitionOnHandMax - 9 },
    reason: 'partition_limit_exceeded',
  },
  {
    name: 'a receive into one bin more than the bin bound is refused',
    given: partition({ onHand: limits.binsPerPartitionMax, bins: binsNamed(limits.binsPerPartitionMax) }),
    event: { type: 'receive', sku, quantity: 1, bin: 'NEW' },
    reason: 'partition_limit_exceeded',
  },
  {
    name: 'a move into one bin more than the bin bound is refused',
    given: partition({
      onHand: limits.binsPerPartitionMax + 1,
      bins: [...binsNamed(limits.binsPerPartitionMax - 1), [U, 2]],
    }),
    event: { type: 'move', sku, quantity: 1, fromBin: U, toBin: 'NEW' },
    reason: 'partition_limit_exceeded',
  },
  {
    name: 'a receive into one lot more than the lot bound is refused',
    given: partition({
      onHand: limits.lotsPerPartitionMax,
      bins: [[U, limits.lotsPerPartitionMax]],
      lots: binsNamed(limits.lotsPerPartitionMax),
    }),
    event: { type: 'receive', sku, quantity: 1, lot: 'NEW' },
    reason: 'partition_limit_exceeded',
  },
  {
    name: 'a receive of one serial more than the serial bound is refused',
    given: partition({
      onHand: limits.serialsPerPartitionMax,
      bins: [[U, limits.serialsPerPartitionMax]],
      serials: serialsNamed(limits.serialsPerPartitionMax),
    }),
    event: { type: 'receive', sku, quantity: 1, serials: ['T1'] },
    reason: 'partition_limit_exceeded',
  },
];

describe('applyStockEvent accepts', () => {
  it.each(accepted)('$name', ({ given, event, expected }) => {
    const result = apply(given, event);
    expect(result).toEqual({ ok: true, state: expected });
  });

  it('every event type has at least one accepted example', () => {
    const types = new Set(accepted.map(({ event }) => event.type));
    expect([...types].sort()).toEqual([...stockEventTypes].sort());
  });
});

describe('applyStockEvent refuses', () => {
  it.each(rejected)('$reason: $name', ({ given, event, reason }) => {
    const result = apply(given, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(reason);
    expect(result.message.length).toBeGreaterThan(0);
    expect(Object.keys(result).sort()).toEqual(['message', 'ok', 'reason']);
  });

  it('every reason code has a witness that reaches it', () => {
    const reached = new Set(
      stockRejectionReasons.map((reason) => {
        const { given, event } = witnesses[reason];
        const result = applyStockEvent(given, event);
        return result.ok ? 'accepted' : result.reason;
      }),
    );
    expect([...reached].sort()).toEqual([...stockRejectionReasons].sort());
  });

  it('the reason codes are stable and unique', () => {
    expect(new Set(stockRejectionReasons).size).toBe(stockRejectionReasons.length);
    expect([...stockRejectionReasons]).toEqual([
      'insufficient_on_hand',
      'insufficient_sellable',
      'insufficient_in_bin',
      'insufficient_lot',
      'insufficient_picked',
      'insufficient_damaged',
      'serial_count_mismatch',
      'serial_already_in_stock',
      'serial_not_in_stock',
      'serial_required',
      'write_off_must_remove',
      'quota_exhausted',
      'partition_limit_exceeded',
      'reconcile_state_invalid',
    ]);
  });
});

describe('applyStockEvent at the partition bound', () => {
  it('accepts a receive that lands exactly on the on-hand bound', () => {
    const given = partition({ onHand: limits.partitionOnHandMax - 5, bins: [[U, limits.partitionOnHandMax - 5]] });
    const result = applyStockEvent(given, { type: 'receive', sku, quantity: 5 });
    expect(result.ok && result.state.onHand).toBe(limits.partitionOnHandMax);
  });

  it('accepts removals from a partition that already holds the maximum number of bins', () => {
    const given = partition({ onHand: limits.binsPerPartitionMax, bins: binsNamed(limits.binsPerPartitionMax) });
    const result = applyStockEvent(given, { type: 'adjust', sku, delta: -1, reason: 'lost', bin: 'B0000' });
    expect(result.ok && result.state.bins.length).toBe(limits.binsPerPartitionMax - 1);
  });
});

describe('countDelta', () => {
  const given = partition({
    onHand: 9,
    picked: 2,
    bins: [
      ['A-01', 3],
      [U, 4],
    ],
  });

  it('is counted minus on hand for a whole-partition count', () => {
    expect(countDelta(given, 5, undefined)).toBe(-4);
    expect(countDelta(given, 9, undefined)).toBe(0);
    expect(countDelta(given, 12, undefined)).toBe(3);
  });

  it('is counted minus the bin for a bin count, and counted for a bin not seen', () => {
    expect(countDelta(given, 1, 'A-01')).toBe(-2);
    expect(countDelta(given, 4, U)).toBe(0);
    expect(countDelta(given, 2, 'Z-99')).toBe(2);
  });

  it('recorded as a count event it leaves exactly the counted quantity', () => {
    for (const [counted, bin] of [
      [0, undefined],
      [1, undefined],
      [4, undefined],
      [11, undefined],
      [0, 'A-01'],
      [6, 'A-01'],
      [1, U],
      [3, 'Z-99'],
    ] as const) {
      const delta = countDelta(given, counted, bin);
      const result = applyStockEvent(given, {
        type: 'count',
        sku,
        countedQuantity: counted,
        delta,
        ...(bin ? { bin } : {}),
      });
      if (!result.ok) throw new Error(`count ${counted} in ${bin} refused: ${result.reason}`);
      expect(countDelta(result.state, counted, bin)).toBe(0);
    }
  });
});

describe('foldStockEvents', () => {
  const ledger: StockEventBody[] = [
    { type: 'receive', sku, quantity: 5, bin: 'A-01', lot: 'L1' },
    { type: 'receive', sku, quantity: 2, serials: ['S2', 'S1'] },
    { type: 'damage', sku, quantity: 1 },
    { type: 'pick', sku, quantity: 2, bin: 'A-01', fulfillmentId: 'F' },
    { type: 'ship', sku, quantity: 2, fulfillmentId: 'F' },
    { type: 'quota_grant', sku, quantity: 2 },
    { type: 'instore_sale', sku, quantity: 1, serials: ['S1'] },
    { type: 'adjust', sku, delta: -1, reason: 'write_off', bin: 'A-01' },
  ];

  it('folds a ledger to the state that applying its events one by one gives', () => {
    let state = emptyPartition();
    for (const event of ledger) {
      const result = applyStockEvent(state, event);
      if (!result.ok) throw new Error(result.reason);
      state = result.state;
    }
    const folded = foldStockEvents(emptyPartition(), ledger);
    expect(partitionsEqual(folded, state)).toBe(true);
    expect(folded).toEqual(
      partition({
        onHand: 3,
        edgeQuota: 1,
        bins: [
          ['A-01', 2],
          [U, 1],
        ],
        lots: [['L1', 3]],
        serials: ['S2'],
      }),
    );
  });

  it('returns the initial state for an empty ledger', () => {
    const initial = partition({ onHand: 2, bins: [[U, 2]] });
    expect(foldStockEvents(initial, [])).toEqual(initial);
  });

  it('throws naming the type and reason when a ledger event does not apply', () => {
    expect(() => foldStockEvents(emptyPartition(), [{ type: 'ship', sku, quantity: 1, fulfillmentId: 'F' }])).toThrow(
      /ship.*insufficient_picked/,
    );
  });
});
