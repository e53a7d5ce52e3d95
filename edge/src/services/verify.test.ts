import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestEdge, startTestEdge, stopTestEdge } from '../test-support/node.ts';
import { verifyEdgeDatabase } from './verify.ts';

let edge: TestEdge;
beforeEach(async () => {
  edge = await startTestEdge();
  const token = await edge.login();
  const scans: Array<[string, unknown]> = [
    ['receive', { sku: 'A', quantity: 5, lot: 'L1' }],
    ['receive', { sku: 'A', quantity: 2, serials: ['S1', 'S2'] }],
    ['move', { sku: 'A', quantity: 3, fromBin: 'UNASSIGNED', toBin: 'B-1' }],
    ['damage', { sku: 'A', quantity: 1 }],
    ['count', { sku: 'A', countedQuantity: 6 }],
    ['receive', { sku: 'B', quantity: 9 }],
    ['transfer-out', { sku: 'B', quantity: 4, transferId: 'T1', toWarehouseId: 'W2' }],
  ];
  for (const [action, body] of scans) {
    const response = await edge.call('POST', `/api/v1/stock/${action}`, { token, body });
    expect(response.status, action).toBe(201);
  }
});
afterEach(() => stopTestEdge(edge));

describe('verifyEdgeDatabase', () => {
  it('finds every partition equal to the fold of its ledger and the upstream seqs gap-free', () => {
    const report = verifyEdgeDatabase(edge.db);
    expect(report).toMatchObject({
      ok: true,
      partitions: 2,
      events: 7,
      mismatches: [],
      upstream: { lastSeq: 7, ackedSeq: 0, problems: [] },
    });
  });

  it('reports a partition whose stored state drifted from its ledger', () => {
    const row = edge.db.prepare("SELECT state FROM partition WHERE sku = 'B'").get() as { state: string };
    const state = JSON.parse(row.state);
    edge.db.prepare("UPDATE partition SET state = ? WHERE sku = 'B'").run(JSON.stringify({ ...state, damaged: 1 }));
    const report = verifyEdgeDatabase(edge.db);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([{ sku: 'B', differences: ['damaged: ledger 0 ≠ stored 1'] }]);
  });

  it('reports a gap in the outbox', () => {
    edge.db.prepare('DELETE FROM outbox WHERE seq = 3').run();
    const report = verifyEdgeDatabase(edge.db);
    expect(report.ok).toBe(false);
    expect(report.upstream.problems[0]).toMatch(/outbox holds 6 rows/);
  });

  it('reports a ledger event that does not apply', () => {
    edge.db.prepare("DELETE FROM ledger WHERE sku = 'B' AND type = 'receive'").run();
    const report = verifyEdgeDatabase(edge.db);
    expect(report.ok).toBe(false);
    expect(report.mismatches[0]?.differences[0]).toMatch(/does not fold: .*insufficient/);
  });
});
