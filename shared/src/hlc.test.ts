import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.ts';
import { type Hlc, hlcCompare, hlcDecode, hlcEncode, hlcInitial, hlcReceive, hlcTick } from './hlc.ts';

const runs = { numRuns: 300 };
const wallMs = fc.integer({ min: 0, max: 1e13 - 1 });
const counter = fc.integer({ min: 0, max: 0xffff });
const node = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
const hlc: fc.Arbitrary<Hlc> = fc.record({ wallMs, counter, node });
/** Readings of a wall clock that jumps forwards and backwards, repeats, and sits still. */
const clockReadings = fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 60 });

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('hlcInitial', () => {
  it('starts at zero for a valid node id', () => {
    expect(hlcInitial('edge-berlin.1')).toEqual({ wallMs: 0, counter: 0, node: 'edge-berlin.1' });
  });

  it('refuses node ids that would break the encoding', () => {
    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(65), 'ünïcode']) {
      expect(() => hlcInitial(bad)).toThrow(AssertionError);
    }
  });
});

describe('hlcTick', () => {
  it('follows the wall clock when it moves forward', () => {
    expect(hlcTick({ wallMs: 100, counter: 7, node: 'a' }, 250)).toEqual({ wallMs: 250, counter: 0, node: 'a' });
  });

  it('keeps the last wall time and counts up when the clock stands still or goes backwards', () => {
    const last = { wallMs: 100, counter: 7, node: 'a' };
    expect(hlcTick(last, 100)).toEqual({ wallMs: 100, counter: 8, node: 'a' });
    expect(hlcTick(last, 40)).toEqual({ wallMs: 100, counter: 8, node: 'a' });
  });

  it('refuses to wrap the counter after 65535 events in one millisecond', () => {
    expect(() => hlcTick({ wallMs: 5, counter: 0xffff, node: 'a' }, 5)).toThrow(/overflow/);
    expect(hlcTick({ wallMs: 5, counter: 0xfffe, node: 'a' }, 5).counter).toBe(0xffff);
  });

  it('is strictly monotonic under any sequence of clock readings, including backwards ones', () => {
    fc.assert(
      fc.property(clockReadings, (readings) => {
        let last = hlcInitial('edge-1');
        for (const nowMs of readings) {
          const next = hlcTick(last, nowMs);
          expect(hlcCompare(next, last)).toBeGreaterThan(0);
          expect(hlcEncode(next) > hlcEncode(last)).toBe(true);
          expect(next.wallMs).toBeGreaterThanOrEqual(nowMs);
          expect(next.node).toBe('edge-1');
          last = next;
        }
        // Never ahead of the largest reading: the clock stays close to physical time.
        expect(last.wallMs).toBe(Math.max(0, ...readings));
      }),
      runs,
    );
  });
});

describe('hlcReceive', () => {
  it('adopts a remote time that is ahead of both the local clock and the last timestamp', () => {
    expect(hlcReceive({ wallMs: 100, counter: 3, node: 'a' }, { wallMs: 500, counter: 9, node: 'b' }, 200)).toEqual({
      wallMs: 500,
      counter: 10,
      node: 'a',
    });
  });

  it('counts past both counters when local and remote share the wall time', () => {
    expect(hlcReceive({ wallMs: 500, counter: 3, node: 'a' }, { wallMs: 500, counter: 9, node: 'b' }, 100)).toEqual({
      wallMs: 500,
      counter: 10,
      node: 'a',
    });
    expect(hlcReceive({ wallMs: 500, counter: 12, node: 'a' }, { wallMs: 500, counter: 9, node: 'b' }, 100)).toEqual({
      wallMs: 500,
      counter: 13,
      node: 'a',
    });
  });

  it('counts up from the last local timestamp when it is the newest', () => {
    expect(hlcReceive({ wallMs: 900, counter: 4, node: 'a' }, { wallMs: 500, counter: 9, node: 'b' }, 100)).toEqual({
      wallMs: 900,
      counter: 5,
      node: 'a',
    });
  });

  it('resets the counter when the physical clock is ahead of both', () => {
    expect(hlcReceive({ wallMs: 100, counter: 4, node: 'a' }, { wallMs: 200, counter: 9, node: 'b' }, 300)).toEqual({
      wallMs: 300,
      counter: 0,
      node: 'a',
    });
  });

  it('refuses to overflow the counter when merging', () => {
    expect(() =>
      hlcReceive({ wallMs: 5, counter: 1, node: 'a' }, { wallMs: 5, counter: 0xffff, node: 'b' }, 5),
    ).toThrow(/overflow/);
  });

  it('orders after both the last local and the remote timestamp, keeping the local node', () => {
    fc.assert(
      fc.property(
        fc.record({
          wallMs: fc.integer({ min: 0, max: 5_000 }),
          counter: fc.integer({ min: 0, max: 0xfff0 }),
          node: node,
        }),
        fc.record({
          wallMs: fc.integer({ min: 0, max: 5_000 }),
          counter: fc.integer({ min: 0, max: 0xfff0 }),
          node: node,
        }),
        fc.integer({ min: 0, max: 5_000 }),
        (last, remote, nowMs) => {
          const merged = hlcReceive(last, remote, nowMs);
          expect(merged.node).toBe(last.node);
          expect(merged.wallMs).toBe(Math.max(last.wallMs, remote.wallMs, nowMs));
          // Compare on (wallMs, counter) only: the node breaks ties between nodes, not causality.
          const causal = (a: Hlc, b: Hlc) => a.wallMs - b.wallMs || a.counter - b.counter;
          expect(causal(merged, last)).toBeGreaterThan(0);
          expect(causal(merged, remote)).toBeGreaterThan(0);
        },
      ),
      runs,
    );
  });

  it('keeps two nodes exchanging messages under skewed, backwards clocks causally ordered', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1_000 }), fc.boolean()), { maxLength: 60 }),
        (script) => {
          let a = hlcInitial('a');
          let b = hlcInitial('b');
          for (const [onA, nowMs, send] of script) {
            if (send) {
              // The sender ticks, the receiver merges: the receive happens after the send.
              if (onA) {
                a = hlcTick(a, nowMs);
                const received = hlcReceive(b, a, nowMs + 7);
                expect(hlcCompare(received, a)).toBeGreaterThan(0);
                expect(hlcCompare(received, b)).toBeGreaterThan(0);
                b = received;
              } else {
                b = hlcTick(b, nowMs);
                const received = hlcReceive(a, b, Math.max(0, nowMs - 300));
                expect(hlcCompare(received, b)).toBeGreaterThan(0);
                expect(hlcCompare(received, a)).toBeGreaterThan(0);
                a = received;
              }
            } else if (onA) {
              const next = hlcTick(a, nowMs);
              expect(hlcCompare(next, a)).toBeGreaterThan(0);
              a = next;
            } else {
              const next = hlcTick(b, nowMs);
              expect(hlcCompare(next, b)).toBeGreaterThan(0);
              b = next;
            }
          }
        },
      ),
      runs,
    );
  });
});

describe('hlcEncode and hlcDecode', () => {
  it('encode a fixed-width, zero-padded form', () => {
    expect(hlcEncode({ wallMs: 1, counter: 10, node: 'edge-1' })).toBe('0000000000001-000a-edge-1');
    expect(hlcEncode({ wallMs: 1_720_000_000_000, counter: 0xffff, node: 'hub' })).toBe('1720000000000-ffff-hub');
  });

  it('round-trip every valid timestamp', () => {
    fc.assert(
      fc.property(hlc, (value) => {
        expect(hlcDecode(hlcEncode(value))).toEqual(value);
      }),
      runs,
    );
  });

  it('encoded strings sort exactly like hlcCompare', () => {
    fc.assert(
      fc.property(hlc, hlc, (a, b) => {
        expect(compareStrings(hlcEncode(a), hlcEncode(b))).toBe(sign(hlcCompare(a, b)));
      }),
      runs,
    );
  });

  it('encoded strings sort like hlcCompare for near neighbours (shared wall time, prefix nodes)', () => {
    const near: fc.Arbitrary<Hlc> = fc.record({
      wallMs: fc.integer({ min: 99, max: 101 }),
      counter: fc.constantFrom(0, 9, 10, 15, 16, 255, 256, 0xffff),
      node: fc.constantFrom('a', 'a-b', 'a.b', 'a:b', 'a_b', 'A', 'Z', '0', 'b', 'ab'),
    });
    fc.assert(
      fc.property(near, near, (a, b) => {
        expect(compareStrings(hlcEncode(a), hlcEncode(b))).toBe(sign(hlcCompare(a, b)));
      }),
      runs,
    );
  });

  it('hlcCompare is zero only for equal timestamps and antisymmetric', () => {
    fc.assert(
      fc.property(hlc, hlc, (a, b) => {
        expect(sign(hlcCompare(a, b))).toBe(-sign(hlcCompare(b, a)));
        expect(hlcCompare(a, b) === 0).toBe(a.wallMs === b.wallMs && a.counter === b.counter && a.node === b.node);
        expect(hlcCompare(a, a)).toBe(0);
      }),
      runs,
    );
  });

  it('refuse to encode a wall time that does not fit 13 digits', () => {
    expect(() => hlcEncode({ wallMs: 1e13, counter: 0, node: 'a' })).toThrow(AssertionError);
    expect(() => hlcEncode({ wallMs: -1, counter: 0, node: 'a' })).toThrow(AssertionError);
  });

  it('refuse to decode anything that is not an encoded timestamp', () => {
    for (const bad of [
      '',
      '1720000000000-000a',
      '172000000000-000a-n',
      '1720000000000-000A-n',
      '1720000000000-00a-n',
      '1720000000000-000a-',
      '1720000000000-000a-bad node',
      ' 1720000000000-000a-n',
    ]) {
      expect(() => hlcDecode(bad)).toThrow(AssertionError);
    }
  });
});
