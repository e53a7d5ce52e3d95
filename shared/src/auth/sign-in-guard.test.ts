import { describe, expect, it } from 'vitest';
import * as limits from '../limits.ts';
import { SignInGuard } from './sign-in-guard.ts';
import { WorkGate } from './work-gate.ts';

function guardAt(startMs = 1_000_000) {
  const clock = { ms: startMs };
  return { guard: new SignInGuard(() => clock.ms), clock };
}

describe('sign-in guard', () => {
  it('slows down one address on one name, progressively, and never another address', () => {
    const { guard, clock } = guardAt();
    for (let i = 0; i < limits.loginFailuresMax - 1; i++) {
      expect(guard.check('10.0.0.9', 'admin').ok).toBe(true);
      guard.recordFailure('10.0.0.9', 'admin', true);
    }
    expect(guard.check('10.0.0.9', 'admin').ok).toBe(true);
    guard.recordFailure('10.0.0.9', 'admin', true);
    expect(guard.check('10.0.0.9', 'admin')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(guard.check('10.0.0.7', 'admin').ok).toBe(true);
    clock.ms += 1_000;
    expect(guard.check('10.0.0.9', 'admin').ok).toBe(true);
    guard.recordFailure('10.0.0.9', 'admin', true);
    expect(guard.check('10.0.0.9', 'admin')).toEqual({ ok: false, retryAfterSeconds: 2 });
    for (let i = 0; i < 20; i++) {
      clock.ms += 60_000;
      guard.recordFailure('10.0.0.9', 'admin', true);
    }
    expect(guard.check('10.0.0.9', 'admin')).toEqual({ ok: false, retryAfterSeconds: limits.loginLockoutSeconds });
    guard.recordSuccess('10.0.0.9', 'admin');
    expect(guard.check('10.0.0.9', 'admin').ok).toBe(true);
  });

  it('counts attempts still being verified: guesses sent together get no more tries than one by one', () => {
    const { guard, clock } = guardAt();
    const letThrough = Array.from({ length: 8 }, () => guard.begin('10.0.0.9', 'admin'));
    expect(letThrough.filter((decision) => decision.ok)).toHaveLength(limits.loginFailuresMax);
    expect(letThrough.at(-1)).toEqual({ ok: false, retryAfterSeconds: 1 });
    // Another address is not held up; the outcomes free the places and the usual slow-down follows.
    expect(guard.begin('10.0.0.7', 'admin').ok).toBe(true);
    for (let i = 0; i < limits.loginFailuresMax; i++) guard.recordFailure('10.0.0.9', 'admin', true);
    expect(guard.begin('10.0.0.9', 'admin')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.ms += 1_000;
    expect(guard.begin('10.0.0.9', 'admin').ok).toBe(true);
    expect(guard.begin('10.0.0.9', 'admin').ok).toBe(false);
    guard.release('10.0.0.9', 'admin');
    expect(guard.begin('10.0.0.9', 'admin').ok).toBe(true);
    // Bogus names in parallel spend the address's budget as they are let through.
    const names = Array.from({ length: limits.signInSourceFailuresBurst + 5 }, (_, i) =>
      guard.begin('10.0.0.8', `bogus-${i}`),
    );
    expect(names.filter((decision) => decision.ok)).toHaveLength(limits.signInSourceFailuresBurst);
    // A place never settled stops counting.
    clock.ms += (limits.signInPendingStaleSeconds + 1) * 1000;
    expect(guard.begin('10.0.0.8', 'bogus-0').ok).toBe(true);
  });

  it('limits a flood of bogus names per address without tracking the names', () => {
    const { guard, clock } = guardAt();
    for (let i = 0; i < limits.signInSourceFailuresBurst; i++) {
      expect(guard.check('10.0.0.9', `bogus-${i}`).ok).toBe(true);
      guard.recordFailure('10.0.0.9', `bogus-${i}`, false);
    }
    const refused = guard.check('10.0.0.9', 'anything');
    expect(refused.ok).toBe(false);
    expect(guard.size().pairs).toBe(0);
    expect(guard.check('10.0.0.10', 'anything').ok).toBe(true);
    clock.ms += 60_000;
    expect(guard.check('10.0.0.9', 'anything').ok).toBe(true);
  });

  it('keeps every active slow-down however many addresses flood it', () => {
    const { guard } = guardAt();
    for (let i = 0; i < limits.loginFailuresMax; i++) guard.recordFailure('10.0.0.9', 'admin', true);
    expect(guard.check('10.0.0.9', 'admin').ok).toBe(false);
    for (let n = 0; n < limits.signInSourcesTrackedMax + 500; n++) {
      const source = `172.16.${n >> 8}.${n & 255}`;
      guard.recordFailure(source, `bogus-${n}`, false);
      guard.recordFailure(source, 'admin', true);
    }
    expect(guard.size().sources).toBeLessThanOrEqual(limits.signInSourcesTrackedMax + 1);
    expect(guard.size().pairs).toBeLessThanOrEqual(limits.signInPairsTrackedMax);
    expect(guard.check('10.0.0.9', 'admin').ok).toBe(false);
  });
});

describe('work gate', () => {
  it('runs at most `concurrency` at once, queues up to `queueMax`, and refuses past them or per key', async () => {
    const gate = new WorkGate(2, 1, 2);
    const releases: Array<() => void> = [];
    const work = () => new Promise<void>((resolve) => releases.push(resolve));
    const a = gate.tryRun('a', work);
    const b = gate.tryRun('b', work);
    expect(gate.tryRun('a', work)).toBeDefined();
    expect(gate.load()).toEqual({ running: 2, waiting: 1 });
    expect(gate.tryRun('c', work)).toBeUndefined();
    expect(gate.tryRun('a', work)).toBeUndefined();
    releases.shift()?.();
    await a;
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.load()).toEqual({ running: 2, waiting: 0 });
    for (const release of releases.splice(0)) release();
    await b;
    await new Promise((resolve) => setImmediate(resolve));
    for (const release of releases.splice(0)) release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.load()).toEqual({ running: 0, waiting: 0 });
  });
});
