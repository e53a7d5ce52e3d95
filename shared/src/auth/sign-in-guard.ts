import * as limits from '../limits.ts';

export type SignInDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

type Pair = { failures: number; lastFailureMs: number; nextAllowedMs: number };
type Source = { tokens: number; atMs: number; names: number };

/** The bucket every source shares once the table of sources is full of active ones. */
const overflowSource = '*';

/**
 * Failed sign-ins (staff passwords, client secrets), throttled so that a lockout is never a lever
 * against someone else. Pure: time comes in, addresses and names are strings.
 *
 * - Per source address and name together: `loginFailuresMax` failures are free, then each attempt
 *   from that address for that name waits longer (1 s, 2 s, 4 s, … up to `loginLockoutSeconds`). The
 *   same name from another address is not slowed at all, so guessing at `admin` from one address
 *   never keeps the real admin out.
 * - Per source address: a budget of failures (`signInSourceFailuresBurst`, refilled at
 *   `signInSourceFailuresPerMinute`), known names or not: a flood of bogus names from one address
 *   gets 429.
 * - Only names that exist get a per-(address, name) entry, at most `signInNamesPerSourceMax` per
 *   address; unknown names cost the address's budget and nothing else, so they cannot fill the table.
 * - The tables are bounded (`signInSourcesTrackedMax`, `signInPairsTrackedMax`) and never evict an
 *   active entry: when full, idle entries go; if none is idle, new addresses share one overflow
 *   budget and a new pair costs its address its whole budget. An attacker cannot clear a lockout by
 *   flooding.
 */
export class SignInGuard {
  private readonly pairs = new Map<string, Pair>();
  private readonly sources = new Map<string, Source>();
  private readonly lastFruitlessSweepMs = new Map<Map<string, unknown>, number>();
  /** Attempts let through by `begin` whose outcome is not recorded yet, per address and per pair. */
  private readonly pending = new Map<string, { count: number; atMs: number }>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** Before checking a password or secret: may `source` try `name` now? */
  check(source: string, name: string): SignInDecision {
    const now = this.nowMs();
    const bucket = this.sources.get(source) ?? this.overflowFor(source);
    if (bucket) {
      const tokens = this.refilled(bucket, now);
      if (tokens < 1) return { ok: false, retryAfterSeconds: secondsUntilToken(tokens) };
    }
    const pair = this.pairs.get(pairKey(source, name));
    if (pair && pair.nextAllowedMs > now)
      return { ok: false, retryAfterSeconds: Math.ceil((pair.nextAllowedMs - now) / 1000) };
    return { ok: true };
  }

  /**
   * `check`, counting the attempts still being verified as if they had failed, and holding a place
   * for this one until `recordFailure`, `recordSuccess` or `release`: guesses sent together (a tRPC
   * batch, parallel requests) get no more tries than guesses sent one after another. A place never
   * settled stops counting after `signInPendingStaleSeconds`.
   */
  begin(source: string, name: string): SignInDecision {
    const decision = this.check(source, name);
    if (!decision.ok) return decision;
    const now = this.nowMs();
    const key = pairKey(source, name);
    const pairPending = this.pendingCount(key, now);
    const failures = this.pairs.get(key)?.failures ?? 0;
    if (pairPending >= Math.max(1, limits.loginFailuresMax - failures)) return { ok: false, retryAfterSeconds: 1 };
    const bucket = this.sources.get(source) ?? this.overflowFor(source);
    const tokens = bucket ? this.refilled(bucket, now) : limits.signInSourceFailuresBurst;
    const sourcePending = this.pendingCount(sourceKey(source), now);
    if (tokens - sourcePending < 1) return { ok: false, retryAfterSeconds: secondsUntilToken(tokens - sourcePending) };
    for (const held of [key, sourceKey(source)])
      this.pending.set(held, { count: this.pendingCount(held, now) + 1, atMs: now });
    return { ok: true };
  }

  /** An attempt `begin` let through ended without a verdict on the secret (busy, a second factor asked for). */
  release(source: string, name: string): void {
    for (const held of [pairKey(source, name), sourceKey(source)]) {
      const entry = this.pending.get(held);
      if (!entry) continue;
      if (entry.count <= 1) this.pending.delete(held);
      else entry.count -= 1;
    }
  }

  private pendingCount(key: string, now: number): number {
    const entry = this.pending.get(key);
    if (!entry) return 0;
    if (now - entry.atMs > limits.signInPendingStaleSeconds * 1000) {
      this.pending.delete(key);
      return 0;
    }
    return entry.count;
  }

  /** A failed attempt; `known` when the name exists (only those get a per-address entry). */
  recordFailure(source: string, name: string, known: boolean): void {
    this.release(source, name);
    const now = this.nowMs();
    const bucket = this.sourceFor(source, now);
    bucket.tokens = this.refilled(bucket, now) - 1;
    bucket.atMs = now;
    if (!known) return;
    const key = pairKey(source, name);
    let pair = this.pairs.get(key);
    if (!pair) {
      const room = this.roomFor(this.pairs, limits.signInPairsTrackedMax, now, pairIdle, (dropped) => {
        const owner = this.sources.get(dropped.slice(0, dropped.indexOf('\n')));
        if (owner && owner.names > 0) owner.names -= 1;
      });
      if (bucket.names >= limits.signInNamesPerSourceMax || !room) {
        bucket.tokens = Math.min(bucket.tokens, 0);
        return;
      }
      pair = { failures: 0, lastFailureMs: now, nextAllowedMs: 0 };
      this.pairs.set(key, pair);
      bucket.names += 1;
    }
    pair.failures += 1;
    pair.lastFailureMs = now;
    const beyond = pair.failures - limits.loginFailuresMax;
    if (beyond >= 0) pair.nextAllowedMs = now + Math.min(limits.loginLockoutSeconds, 2 ** Math.min(beyond, 30)) * 1000;
  }

  /** A successful attempt forgets that address's failures for the name. */
  recordSuccess(source: string, name: string): void {
    this.release(source, name);
    if (!this.pairs.delete(pairKey(source, name))) return;
    const bucket = this.sources.get(source);
    if (bucket && bucket.names > 0) bucket.names -= 1;
  }

  /** Entries held, for tests and metrics. */
  size(): { sources: number; pairs: number } {
    return { sources: this.sources.size, pairs: this.pairs.size };
  }

  private refilled(bucket: Source, now: number): number {
    const perMs = limits.signInSourceFailuresPerMinute / 60_000;
    return Math.min(limits.signInSourceFailuresBurst, bucket.tokens + (now - bucket.atMs) * perMs);
  }

  /** The overflow bucket, when `source` is not tracked and could not be: the table is full of active ones. */
  private overflowFor(source: string): Source | undefined {
    if (source === overflowSource || this.sources.size < limits.signInSourcesTrackedMax) return undefined;
    return this.sources.get(overflowSource);
  }

  private sourceFor(source: string, now: number): Source {
    const existing = this.sources.get(source);
    if (existing) return existing;
    const fresh = { tokens: limits.signInSourceFailuresBurst, atMs: now, names: 0 };
    const idle = (entry: Source, at: number) =>
      entry.names === 0 && this.refilled(entry, at) >= limits.signInSourceFailuresBurst;
    if (this.roomFor(this.sources, limits.signInSourcesTrackedMax, now, idle)) {
      this.sources.set(source, fresh);
      return fresh;
    }
    const overflow = this.sources.get(overflowSource) ?? fresh;
    this.sources.set(overflowSource, overflow);
    return overflow;
  }

  /**
   * Whether a new entry fits in `table`, dropping idle entries (never active ones) when it is full.
   * A sweep that freed nothing is not repeated for a second, so a full table costs no scan per request.
   */
  private roomFor<T>(
    table: Map<string, T>,
    max: number,
    now: number,
    idle: (entry: T, now: number) => boolean,
    dropped: (key: string) => void = () => {},
  ): boolean {
    if (table.size < max) return true;
    if (now - (this.lastFruitlessSweepMs.get(table) ?? Number.NEGATIVE_INFINITY) < 1_000) return false;
    for (const [key, entry] of table) {
      if (key === overflowSource || !idle(entry, now)) continue;
      table.delete(key);
      dropped(key);
    }
    if (table.size < max) return true;
    this.lastFruitlessSweepMs.set(table, now);
    return false;
  }
}

const pairKey = (source: string, name: string) => `${source}\n${name.toLowerCase()}`;
const sourceKey = (source: string) => `\u0000${source}`;
const pairIdle = (pair: Pair, now: number) =>
  pair.nextAllowedMs <= now && now - pair.lastFailureMs > limits.signInFailureMemorySeconds * 1000;
const secondsUntilToken = (tokens: number) =>
  Math.max(1, Math.ceil(((1 - tokens) * 60) / limits.signInSourceFailuresPerMinute));
