import { describe, expect, it } from 'vitest';
import { expiringStatusAt } from './schemas.ts';

describe('a status read at a time', () => {
  it('lapses exactly at the expiry, for the lapsing status only', () => {
    expect(expiringStatusAt('active', 'active', 1_000, 999)).toBe('active');
    expect(expiringStatusAt('active', 'active', 1_000, 1_000)).toBe('expired');
    expect(expiringStatusAt('converted', 'active', 1_000, 5_000)).toBe('converted');
    expect(expiringStatusAt('pending_payment', 'pending_payment', 1_000, 1_000)).toBe('expired');
    expect(expiringStatusAt('processing', 'pending_payment', 1_000, 5_000)).toBe('processing');
  });
});
