import { describe, expect, it } from 'vitest';
import { createIdSource, isUuid, newId } from './ids.ts';

function seededBytes(seed: number): () => Uint8Array {
  let state = seed;
  return () => {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < bytes.length; i++) {
      state = (state * 1_103_515_245 + 12_345) >>> 0;
      bytes[i] = state >>> 24;
    }
    return bytes;
  };
}

describe('ids', () => {
  it('newId returns distinct version-7 UUIDs', () => {
    const ids = Array.from({ length: 200 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
  });

  it('an id source with injected clock and randomness repeats the same ids from the same seed', () => {
    const make = () => {
      let now = 1_720_000_000_000;
      return createIdSource({ nowMs: () => now++, randomBytes: seededBytes(7) });
    };
    const first = make();
    const second = make();
    const a = Array.from({ length: 20 }, () => first());
    const b = Array.from({ length: 20 }, () => second());
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
  });

  it('ids from a later millisecond sort after earlier ones and carry the time', () => {
    let now = 1_720_000_000_000;
    const next = createIdSource({ nowMs: () => now, randomBytes: seededBytes(1) });
    const earlier = next();
    now += 1;
    const later = next();
    expect(earlier < later).toBe(true);
    expect(Number.parseInt(earlier.replace(/-/g, '').slice(0, 12), 16)).toBe(1_720_000_000_000);
    expect(isUuid(earlier) && isUuid(later)).toBe(true);
  });

  it('isUuid accepts lower-case canonical UUIDs only', () => {
    expect(isUuid('0190a6e8-7c1d-7a3b-9f00-1234567890ab')).toBe(true);
    for (const bad of [
      '',
      '0190A6E8-7C1D-7A3B-9F00-1234567890AB',
      '0190a6e87c1d7a3b9f001234567890ab',
      '0190a6e8-7c1d-7a3b-9f00-1234567890a',
      '{0190a6e8-7c1d-7a3b-9f00-1234567890ab}',
      '0190a6e8-7c1d-7a3b-9f00-1234567890ag',
    ]) {
      expect(isUuid(bad)).toBe(false);
    }
  });
});
