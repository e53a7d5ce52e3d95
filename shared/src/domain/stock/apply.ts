import { assertNever } from '../../assert.ts';
import * as limits from '../../limits.ts';
import {
  type PartitionState,
  assertPartition,
  partitionStateSchema,
  entryQuantity,
  sellable,
  sumEntries,
} from './partition.ts';
import { DEFAULT_BIN, type StockEventBody } from './schemas.ts';

/**
 * Stable reason codes for a stock event the owner refuses. Named after the rule that would break;
 * never renamed once shipped (scanners and 3PL integrations branch on them).
 */
export const stockRejectionReasons = [
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
] as const;
export type StockRejectionReason = (typeof stockRejectionReasons)[number];

export type StockRejection = { ok: false; reason: StockRejectionReason; message: string };
export type StockApplyResult = { ok: true; state: PartitionState } | StockRejection;

const reject = (reason: StockRejectionReason, message: string): StockRejection => ({ ok: false, reason, message });

type Entries = Array<[string, number]>;
type Units = { bin?: string | undefined; lot?: string | undefined; serials?: readonly string[] | undefined };

function withEntry(entries: ReadonlyArray<readonly [string, number]>, key: string, delta: number): Entries {
  const next: Entries = [];
  let found = false;
  for (const [name, quantity] of entries) {
    if (name === key) {
      found = true;
      if (quantity + delta > 0) next.push([name, quantity + delta]);
    } else next.push([name, quantity]);
  }
  if (!found && delta > 0) next.push([key, delta]);
  return next;
}

/** Takes `quantity` from entries: the named one, else `first` (if given) then in order. */
function takeEntries(
  entries: ReadonlyArray<readonly [string, number]>,
  quantity: number,
  first: string | undefined,
): Entries {
  let remaining = quantity;
  const order =
    first === undefined ? [...entries] : [...entries].sort(([a], [b]) => (a === first ? -1 : b === first ? 1 : 0));
  const taken = new Map<string, number>();
  for (const [name, available] of order) {
    if (remaining === 0) break;
    const take = Math.min(available, remaining);
    taken.set(name, take);
    remaining -= take;
  }
  const next: Entries = [];
  for (const [name, available] of entries) {
    const left = available - (taken.get(name) ?? 0);
    if (left > 0) next.push([name, left]);
  }
  return next;
}

function checkSerialsInStock(state: PartitionState, serials: readonly string[]): StockRejection | undefined {
  const inStock = new Set(state.serials);
  const missing = serials.find((serial) => !inStock.has(serial));
  return missing === undefined ? undefined : reject('serial_not_in_stock', `serial ${missing} is not in stock here`);
}

function checkSerialCount(quantity: number, serials: readonly string[] | undefined): StockRejection | undefined {
  if (serials !== undefined && serials.length !== quantity) {
    return reject('serial_count_mismatch', `${serials.length} serials scanned for ${quantity} units`);
  }
  return undefined;
}

/** Units in the building arrive: into a bin, a lot, with serials. */
function addUnits(state: PartitionState, quantity: number, units: Units): StockApplyResult {
  const mismatch = checkSerialCount(quantity, units.serials);
  if (mismatch) return mismatch;
  let serials = state.serials;
  if (units.serials) {
    const inStock = new Set(state.serials);
    const duplicate = units.serials.find((serial) => inStock.has(serial));
    if (duplicate !== undefined) return reject('serial_already_in_stock', `serial ${duplicate} is already in stock`);
    serials = [...state.serials, ...units.serials].sort();
  }
  return {
    ok: true,
    state: {
      ...state,
      onHand: state.onHand + quantity,
      bins: withEntry(state.bins, units.bin ?? DEFAULT_BIN, quantity),
      lots: units.lot === undefined ? state.lots : withEntry(state.lots, units.lot, quantity),
      serials,
    },
  };
}

/**
 * Lot and serial bookkeeping for units leaving the building. Without a lot named, untracked units go
 * first, then lots oldest first. Serialized units must be named: a made-to-order sofa leaves by serial.
 */
function releaseIdentity(state: PartitionState, quantity: number, units: Units): StockApplyResult {
  let lots: Entries;
  if (units.lot !== undefined) {
    const inLot = entryQuantity(state.lots, units.lot);
    if (inLot < quantity) return reject('insufficient_lot', `lot ${units.lot} holds ${inLot}, not ${quantity}`);
    lots = withEntry(state.lots, units.lot, -quantity);
  } else {
    const untracked = state.onHand - sumEntries(state.lots);
    lots = takeEntries(state.lots, Math.max(0, quantity - untracked), undefined);
  }
  let serials = state.serials;
  if (units.serials) {
    const mismatch = checkSerialCount(quantity, units.serials);
    if (mismatch) return mismatch;
    const missing = checkSerialsInStock(state, units.serials);
    if (missing) return missing;
    const leaving = new Set(units.serials);
    serials = state.serials.filter((serial) => !leaving.has(serial));
  } else if (state.onHand - state.serials.length < quantity) {
    return reject(
      'serial_required',
      `only ${state.onHand - state.serials.length} units carry no serial: name the serials of the units concerned`,
    );
  }
  return { ok: true, state: { ...state, lots, serials } };
}

/** Units leave their bins (to a truck, the picked staging area, or out of existence). */
function takeFromBins(state: PartitionState, quantity: number, bin: string | undefined): StockApplyResult {
  if (bin !== undefined) {
    const inBin = entryQuantity(state.bins, bin);
    if (inBin < quantity) return reject('insufficient_in_bin', `bin ${bin} holds ${inBin}, not ${quantity}`);
    return { ok: true, state: { ...state, bins: withEntry(state.bins, bin, -quantity) } };
  }
  const inBins = sumEntries(state.bins);
  if (inBins < quantity) return reject('insufficient_in_bin', `bins hold ${inBins}, not ${quantity}`);
  return { ok: true, state: { ...state, bins: takeEntries(state.bins, quantity, DEFAULT_BIN) } };
}

/** Physical loss may leave fewer units than are marked damaged or in QC: reality wins. */
function clampStatuses(state: PartitionState): PartitionState {
  const damaged = Math.min(state.damaged, state.onHand - state.picked);
  const qualityControl = Math.min(state.qualityControl, state.onHand - state.picked - damaged);
  return damaged === state.damaged && qualityControl === state.qualityControl
    ? state
    : { ...state, damaged, qualityControl };
}

function removeUnits(state: PartitionState, quantity: number, units: Units): StockApplyResult {
  if (state.onHand < quantity) return reject('insufficient_on_hand', `on hand is ${state.onHand}, not ${quantity}`);
  const identity = releaseIdentity(state, quantity, units);
  if (!identity.ok) return identity;
  const placed = takeFromBins(identity.state, quantity, units.bin);
  if (!placed.ok) return placed;
  return { ok: true, state: clampStatuses({ ...placed.state, onHand: state.onHand - quantity }) };
}

function requireSellable(state: PartitionState, quantity: number): StockRejection | undefined {
  const units = sellable(state);
  return units < quantity ? reject('insufficient_sellable', `${units} sellable units, not ${quantity}`) : undefined;
}

function applyUnchecked(state: PartitionState, event: StockEventBody): StockApplyResult {
  switch (event.type) {
    case 'receive':
    case 'transfer_in':
      return addUnits(state, event.quantity, event);
    case 'return_restock': {
      const added = addUnits(state, event.quantity, event);
      if (!added.ok || event.condition === 'sellable') return added;
      return { ok: true, state: { ...added.state, damaged: added.state.damaged + event.quantity } };
    }
    case 'adjust': {
      if (event.reason === 'write_off') {
        if (event.delta > 0) return reject('write_off_must_remove', 'a write-off removes damaged units');
        if (state.damaged < -event.delta) {
          return reject('insufficient_damaged', `${state.damaged} damaged units, not ${-event.delta}`);
        }
        const removed = removeUnits({ ...state, damaged: state.damaged + event.delta }, -event.delta, event);
        return removed;
      }
      return event.delta > 0 ? addUnits(state, event.delta, event) : removeUnits(state, -event.delta, event);
    }
    case 'count': {
      if (event.delta === 0) return { ok: true, state };
      if (event.delta > 0) return addUnits(state, event.delta, { bin: event.bin });
      const missing = -event.delta;
      if (event.bin !== undefined) return removeUnits(state, missing, { bin: event.bin });
      // A whole-partition count may find fewer units than sit in bins: the rest were staged as picked.
      const fromPicked = Math.max(0, missing - sumEntries(state.bins));
      const unstaged =
        fromPicked === 0
          ? state
          : { ...state, picked: state.picked - fromPicked, bins: withEntry(state.bins, DEFAULT_BIN, fromPicked) };
      return removeUnits(unstaged, missing, {});
    }
    case 'damage': {
      const short = requireSellable(state, event.quantity);
      if (short) return short;
      const named = checkIdentity(state, event.quantity, event);
      if (named) return named;
      return { ok: true, state: { ...state, damaged: state.damaged + event.quantity } };
    }
    case 'move': {
      const named = checkIdentity(state, event.quantity, event);
      if (named) return named;
      const taken = takeFromBins(state, event.quantity, event.fromBin);
      if (!taken.ok) return taken;
      return { ok: true, state: { ...taken.state, bins: withEntry(taken.state.bins, event.toBin, event.quantity) } };
    }
    case 'transfer_out': {
      const short = requireSellable(state, event.quantity);
      return short ?? removeUnits(state, event.quantity, event);
    }
    case 'pick': {
      const short = requireSellable(state, event.quantity);
      if (short) return short;
      const named = checkIdentity(state, event.quantity, event);
      if (named) return named;
      const taken = takeFromBins(state, event.quantity, event.bin);
      if (!taken.ok) return taken;
      return { ok: true, state: { ...taken.state, picked: state.picked + event.quantity } };
    }
    case 'ship': {
      if (state.picked < event.quantity) {
        return reject(
          'insufficient_picked',
          `${state.picked} units picked, not ${event.quantity}; pick before shipping`,
        );
      }
      const identity = releaseIdentity(state, event.quantity, event);
      if (!identity.ok) return identity;
      return {
        ok: true,
        state: { ...identity.state, onHand: state.onHand - event.quantity, picked: state.picked - event.quantity },
      };
    }
    case 'unpick': {
      if (state.picked < event.quantity) {
        return reject('insufficient_picked', `${state.picked} units picked, not ${event.quantity}`);
      }
      return {
        ok: true,
        state: {
          ...state,
          picked: state.picked - event.quantity,
          bins: withEntry(state.bins, event.bin ?? DEFAULT_BIN, event.quantity),
        },
      };
    }
    case 'instore_sale': {
      if (state.edgeQuota < event.quantity) {
        return reject('quota_exhausted', `in-store quota is ${state.edgeQuota}, not ${event.quantity}`);
      }
      const short = requireSellable(state, event.quantity);
      if (short) return short;
      const removed = removeUnits(state, event.quantity, event);
      if (!removed.ok) return removed;
      return { ok: true, state: { ...removed.state, edgeQuota: state.edgeQuota - event.quantity } };
    }
    case 'quota_grant':
      return { ok: true, state: { ...state, edgeQuota: state.edgeQuota + event.quantity } };
    case 'quota_return':
      if (state.edgeQuota < event.quantity) {
        return reject('quota_exhausted', `in-store quota is ${state.edgeQuota}, not ${event.quantity}`);
      }
      return { ok: true, state: { ...state, edgeQuota: state.edgeQuota - event.quantity } };
    case 'reconcile': {
      const parsed = partitionStateSchema.safeParse(event.state);
      if (!parsed.success) return reject('reconcile_state_invalid', 'the restated partition is not a partition state');
      try {
        assertPartition(parsed.data);
      } catch (error) {
        return reject(
          'reconcile_state_invalid',
          `the restated partition breaks an invariant: ${(error as Error).message}`,
        );
      }
      return { ok: true, state: parsed.data };
    }
    default:
      return assertNever(event, 'unknown stock event type');
  }
}

/** Named lots and serials must exist for actions that keep units in the building. */
function checkIdentity(state: PartitionState, quantity: number, units: Units): StockRejection | undefined {
  if (units.lot !== undefined && entryQuantity(state.lots, units.lot) < quantity) {
    return reject(
      'insufficient_lot',
      `lot ${units.lot} holds ${entryQuantity(state.lots, units.lot)}, not ${quantity}`,
    );
  }
  if (units.serials) return checkSerialCount(quantity, units.serials) ?? checkSerialsInStock(state, units.serials);
  return undefined;
}

function withinLimits(state: PartitionState): StockRejection | undefined {
  if (state.onHand > limits.partitionOnHandMax) {
    return reject('partition_limit_exceeded', `on hand would exceed ${limits.partitionOnHandMax}`);
  }
  if (state.bins.length > limits.binsPerPartitionMax) return reject('partition_limit_exceeded', 'too many bins');
  if (state.lots.length > limits.lotsPerPartitionMax) return reject('partition_limit_exceeded', 'too many lots');
  if (state.serials.length > limits.serialsPerPartitionMax)
    return reject('partition_limit_exceeded', 'too many serials');
  return undefined;
}

/**
 * Applies one stock event to a partition: the new state, or a rejection with a stable reason.
 * Pure and total: the edge uses it to decide, the hub and `verify` to fold the ledger.
 */
export function applyStockEvent(state: PartitionState, event: StockEventBody): StockApplyResult {
  const result = applyUnchecked(state, event);
  if (!result.ok) return result;
  const overLimit = withinLimits(result.state);
  if (overLimit) return overLimit;
  assertPartition(result.state);
  return result;
}

/** The delta a count records: counted minus what the owner holds (in the bin, or in all). */
export function countDelta(state: PartitionState, countedQuantity: number, bin: string | undefined): number {
  return countedQuantity - (bin === undefined ? state.onHand : entryQuantity(state.bins, bin));
}

/** Folds events in ledger order; throws on a rejected event (a ledger only holds applied ones). */
export function foldStockEvents(initial: PartitionState, events: Iterable<StockEventBody>): PartitionState {
  let state = initial;
  for (const event of events) {
    const result = applyStockEvent(state, event);
    if (!result.ok) throw new Error(`ledger event ${event.type} does not apply: ${result.reason}`);
    state = result.state;
  }
  return state;
}
