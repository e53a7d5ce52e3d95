import { assert } from './assert.ts';

/**
 * Hybrid logical clock (Kulkarni et al., 2014). Timestamps stay close to wall time but never run
 * backwards on one node, even if the wall clock does, and order causally across nodes.
 * Encoded as a fixed-width string that sorts like the timestamp: `<ms:13>-<counter:4 hex>-<node>`.
 */
export type Hlc = { readonly wallMs: number; readonly counter: number; readonly node: string };

const counterMax = 0xffff;
const nodePattern = /^[A-Za-z0-9_.:-]{1,64}$/;

export function hlcInitial(node: string): Hlc {
  assert(nodePattern.test(node), `hlc node id is invalid: ${node}`);
  return { wallMs: 0, counter: 0, node };
}

/** The timestamp for a local event at physical time `nowMs`. */
export function hlcTick(last: Hlc, nowMs: number): Hlc {
  if (nowMs > last.wallMs) return { wallMs: nowMs, counter: 0, node: last.node };
  assert(last.counter < counterMax, 'hlc counter overflow: more than 65535 events in one millisecond');
  return { wallMs: last.wallMs, counter: last.counter + 1, node: last.node };
}

/** Merge a timestamp received from another node. */
export function hlcReceive(last: Hlc, remote: Hlc, nowMs: number): Hlc {
  const wallMs = Math.max(last.wallMs, remote.wallMs, nowMs);
  let counter = 0;
  if (wallMs === last.wallMs && wallMs === remote.wallMs) counter = Math.max(last.counter, remote.counter) + 1;
  else if (wallMs === last.wallMs) counter = last.counter + 1;
  else if (wallMs === remote.wallMs) counter = remote.counter + 1;
  assert(counter <= counterMax, 'hlc counter overflow');
  return { wallMs, counter, node: last.node };
}

export function hlcEncode(hlc: Hlc): string {
  assert(hlc.wallMs >= 0 && hlc.wallMs < 1e13, 'hlc wall time out of range');
  return `${String(hlc.wallMs).padStart(13, '0')}-${hlc.counter.toString(16).padStart(4, '0')}-${hlc.node}`;
}

const encodedPattern = /^(\d{13})-([0-9a-f]{4})-([A-Za-z0-9_.:-]{1,64})$/;

export function hlcDecode(encoded: string): Hlc {
  const match = encodedPattern.exec(encoded);
  assert(match, `not an encoded hlc: ${encoded}`);
  return { wallMs: Number(match[1]), counter: Number.parseInt(match[2] as string, 16), node: match[3] as string };
}

export function hlcCompare(a: Hlc, b: Hlc): number {
  return a.wallMs - b.wallMs || a.counter - b.counter || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}
