import { describe, expect, it } from 'vitest';
import { haversineKm } from './geo.ts';

describe('great-circle distance', () => {
  it.each([
    ['Paris', { lat: 48.8566, lon: 2.3522 }, 'Lyon', { lat: 45.764, lon: 4.8357 }, 391],
    ['Brussels', { lat: 50.8503, lon: 4.3517 }, 'Rotterdam', { lat: 51.9244, lon: 4.4777 }, 120],
    ['London', { lat: 51.5074, lon: -0.1278 }, 'New York', { lat: 40.7128, lon: -74.006 }, 5570],
  ])('puts %s %s km from %s', (_from, from, _to, to, km) => {
    expect(haversineKm(from, to)).toBeCloseTo(km, -1);
  });

  it('is zero from a point to itself and the same both ways', () => {
    const a = { lat: 59.33, lon: 18.07 };
    const b = { lat: -33.87, lon: 151.21 };
    expect(haversineKm(a, a)).toBe(0);
    expect(haversineKm(a, b)).toBe(haversineKm(b, a));
  });

  it('goes the short way across the antimeridian and stays finite at antipodes', () => {
    expect(haversineKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 })).toBeCloseTo(111.2, 0);
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});
