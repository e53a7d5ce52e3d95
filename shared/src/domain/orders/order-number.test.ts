import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as limits from '../../limits.ts';
import { formatOrderNumber, orderNumberAlphabet, parseOrderNumber } from './order-number.ts';

const sequence = fc.integer({ min: 1, max: limits.orderNumberSequenceMax });

describe('human order numbers', () => {
  it.each([
    [1, 'DT-0000-001Y'],
    [32, 'DT-0000-010Z'],
    [1_234_567, 'DT-0015-NM7C'],
    [limits.orderNumberSequenceMax, 'DT-ZZZZ-ZZZ7'],
  ])('formats sequence %i as %s', (n, text) => {
    expect(formatOrderNumber(n)).toBe(text);
  });

  it('reads back every number it formats', () => {
    fc.assert(
      fc.property(sequence, (n) => {
        const text = formatOrderNumber(n);
        expect(text).toMatch(/^DT-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
        expect(parseOrderNumber(text)).toEqual({ ok: true, sequence: n, orderNumber: text });
      }),
    );
  });

  it('reads what people type: lower case, no hyphens, spaces, I and L for 1, O for 0', () => {
    expect(parseOrderNumber(' dt 0015 nm7c ')).toEqual({ ok: true, sequence: 1_234_567, orderNumber: 'DT-0015-NM7C' });
    expect(parseOrderNumber('DTOOOO-OOIY')).toEqual({ ok: true, sequence: 1, orderNumber: 'DT-0000-001Y' });
    expect(parseOrderNumber('dt-0000-00ly')).toEqual({ ok: true, sequence: 1, orderNumber: 'DT-0000-001Y' });
  });

  it('catches every single mistyped character', () => {
    fc.assert(
      fc.property(sequence, fc.nat(7), fc.integer({ min: 1, max: 31 }), (n, position, shift) => {
        const compact = formatOrderNumber(n).replace(/-/g, '').slice(2);
        const wrong = orderNumberAlphabet[
          (orderNumberAlphabet.indexOf(compact[position] as string) + shift) % 32
        ] as string;
        const typo = compact.slice(0, position) + wrong + compact.slice(position + 1);
        expect(parseOrderNumber('DT' + typo)).toEqual({ ok: false, reason: 'order_number_check_mismatch' });
      }),
    );
  });

  it('catches a swap of two neighbouring characters in most numbers', () => {
    let caught = 0;
    let swaps = 0;
    for (let n = 1; n < 200_000; n += 997) {
      const compact = formatOrderNumber(n).replace(/-/g, '').slice(2);
      for (let i = 0; i + 1 < compact.length; i++) {
        if (compact[i] === compact[i + 1]) continue;
        swaps++;
        const swapped = compact.slice(0, i) + compact[i + 1] + compact[i] + compact.slice(i + 2);
        if (!parseOrderNumber('DT' + swapped).ok) caught++;
      }
    }
    expect(caught / swaps).toBeGreaterThan(0.95);
  });

  it.each([
    [''],
    ['DT-0000-001'],
    ['DT-0000-001YY'],
    ['XX-0000-001Y'],
    ['DT-0000-00UY'],
    ['DT-0000-0000'],
    ['DT-0000-00*Y'],
  ])('refuses %j as malformed', (text) => {
    expect(parseOrderNumber(text)).toEqual({ ok: false, reason: 'malformed_order_number' });
  });

  it('asserts on a sequence it cannot format', () => {
    for (const n of [0, -1, 1.5, limits.orderNumberSequenceMax + 1])
      expect(() => formatOrderNumber(n)).toThrow(/out of range/);
  });
});
