import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../assert.ts';
import * as limits from '../../limits.ts';
import {
  type PartitionState,
  assertPartition,
  emptyPartition,
  entryQuantity,
  partitionDifferences,
  partitionStateSchema,
  partitionsEqual,
  sellable,
  sumEntries,
} from './partition.ts';

const valid: PartitionState = {
  onHand: 10,
  damaged: 2,
  qualityControl: 1,
  picked: 3,
  edgeQuota: 4,
  bins: [
    ['A-01', 5],
    ['UNASSIGNED', 2],
  ],
  lots: [
    ['L1', 4],
    ['L2', 6],
  ],
  serials: ['SN-1', 'SN-2', 'SN-3'],
};

describe('assertPartition', () => {
  it('accepts the empty partition and a full valid one', () => {
    expect(() => assertPartition(emptyPartition())).not.toThrow();
    expect(() => assertPartition(valid)).not.toThrow();
    expect(partitionStateSchema.parse(valid)).toEqual(valid);
  });

  it('accepts the on-hand bound and lots and serials covering every unit', () => {
    const max = limits.partitionOnHandMax;
    expect(() => assertPartition({ ...emptyPartition(), onHand: max, bins: [['A', max]] })).not.toThrow();
    expect(() =>
      assertPartition({ ...emptyPartition(), onHand: 2, bins: [['A', 2]], lots: [['L', 2]], serials: ['a', 'b'] }),
    ).not.toThrow();
  });

  const broken: Array<{ name: string; state: PartitionState; message: RegExp }> = [
    { name: 'a negative on hand', state: { ...emptyPartition(), onHand: -1, picked: 0, bins: [] }, message: /onHand/ },
    { name: 'a negative damaged count', state: { ...valid, damaged: -1 }, message: /damaged/ },
    {
      name: 'a fractional picked count',
      state: {
        ...valid,
        picked: 2.5,
        bins: [
          ['A-01', 5.5],
          ['UNASSIGNED', 2],
        ],
      },
      message: /picked/,
    },
    { name: 'a negative edge quota', state: { ...valid, edgeQuota: -1 }, message: /edgeQuota/ },
    {
      name: 'a non-finite quality control',
      state: { ...valid, qualityControl: Number.NaN },
      message: /qualityControl/,
    },
    {
      name: 'on hand beyond the partition bound',
      state: {
        ...emptyPartition(),
        onHand: limits.partitionOnHandMax + 1,
        bins: [['A', limits.partitionOnHandMax + 1]],
      },
      message: /within bound/,
    },
    {
      name: 'bins and picked that do not add up to on hand',
      state: { ...valid, bins: [['A-01', 5]] },
      message: /bins \+ picked/,
    },
    {
      name: 'more damaged, QC and picked than on hand',
      state: { ...valid, damaged: 6, qualityControl: 2 },
      message: /damaged \+ qc/,
    },
    { name: 'lots holding more than on hand', state: { ...valid, lots: [['L1', 11]] }, message: /lots/ },
    {
      name: 'more serials than units',
      state: { ...valid, onHand: 2, picked: 0, damaged: 0, qualityControl: 0, bins: [['A', 2]], lots: [] },
      message: /serials/,
    },
    {
      name: 'a zero bin entry',
      state: {
        ...valid,
        bins: [
          ['A-01', 7],
          ['B-01', 0],
        ],
      },
      message: /positive/,
    },
    {
      name: 'a negative lot entry',
      state: {
        ...valid,
        lots: [
          ['L1', 4],
          ['L2', -1],
        ],
      },
      message: /positive/,
    },
    {
      name: 'the same bin twice',
      state: {
        ...valid,
        bins: [
          ['A-01', 5],
          ['A-01', 2],
        ],
      },
      message: /duplicate/,
    },
    {
      name: 'the same lot twice',
      state: {
        ...valid,
        lots: [
          ['L1', 4],
          ['L1', 1],
        ],
      },
      message: /duplicate/,
    },
    { name: 'unsorted serials', state: { ...valid, serials: ['SN-2', 'SN-1'] }, message: /sorted/ },
    { name: 'a repeated serial', state: { ...valid, serials: ['SN-1', 'SN-1'] }, message: /unique/ },
  ];

  it.each(broken)('trips on $name', ({ state, message }) => {
    expect(() => assertPartition(state)).toThrow(AssertionError);
    expect(() => assertPartition(state)).toThrow(message);
  });
});

describe('partition helpers', () => {
  it('sumEntries adds entry quantities and is zero for none', () => {
    expect(sumEntries(valid.bins)).toBe(7);
    expect(sumEntries([])).toBe(0);
  });

  it('entryQuantity finds an entry by name and is zero for a missing one', () => {
    expect(entryQuantity(valid.lots, 'L2')).toBe(6);
    expect(entryQuantity(valid.lots, 'L3')).toBe(0);
  });

  it('sellable excludes damaged, quality control and picked units but not the edge quota', () => {
    expect(sellable(valid)).toBe(10 - 2 - 1 - 3);
    expect(sellable(emptyPartition())).toBe(0);
  });

  it('emptyPartition returns a fresh object each time', () => {
    const first = emptyPartition();
    first.bins.push(['A', 1]);
    expect(emptyPartition().bins).toEqual([]);
  });
});

describe('partitionsEqual and partitionDifferences', () => {
  it('a state equals a deep copy of itself', () => {
    expect(partitionsEqual(valid, structuredClone(valid))).toBe(true);
    expect(partitionDifferences(valid, structuredClone(valid))).toEqual([]);
  });

  it('equality does not depend on the order fields were written in', () => {
    const reordered: PartitionState = {
      serials: [...valid.serials],
      lots: valid.lots.map(([name, quantity]) => [name, quantity]),
      bins: valid.bins.map(([name, quantity]) => [name, quantity]),
      edgeQuota: valid.edgeQuota,
      picked: valid.picked,
      qualityControl: valid.qualityControl,
      damaged: valid.damaged,
      onHand: valid.onHand,
    };
    expect(partitionsEqual(valid, reordered)).toBe(true);
    expect(partitionsEqual(reordered, valid)).toBe(true);
    expect(partitionDifferences(valid, reordered)).toEqual([]);
  });

  it('entry order is part of the state', () => {
    const swapped = { ...valid, bins: [...valid.bins].reverse() };
    expect(partitionsEqual(valid, swapped)).toBe(false);
    expect(partitionDifferences(valid, swapped)).toEqual([
      'bins: ledger [["A-01",5],["UNASSIGNED",2]] ≠ stored [["UNASSIGNED",2],["A-01",5]]',
    ]);
  });

  it('names each field that differs', () => {
    const stored = { ...valid, damaged: 1, serials: ['SN-1', 'SN-2'] };
    expect(partitionsEqual(valid, stored)).toBe(false);
    expect(partitionDifferences(valid, stored)).toEqual([
      'damaged: ledger 2 ≠ stored 1',
      'serials: ledger ["SN-1","SN-2","SN-3"] ≠ stored ["SN-1","SN-2"]',
    ]);
  });
});
