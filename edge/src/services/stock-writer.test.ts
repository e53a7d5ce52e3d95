import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestEdge, startTestEdge, stopTestEdge } from '../test-support/node.ts';

let edge: TestEdge;
beforeEach(async () => {
  edge = await startTestEdge();
});
afterEach(() => stopTestEdge(edge));

describe('StockWriter (group commit)', () => {
  it('commits a burst of concurrent scans together, each with its own gap-free upstream seq', async () => {
    const batches: number[] = [];
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, index) =>
        edge.writer.submit({
          command: { type: 'receive', sku: `SKU-${index % 7}`, quantity: 1 + (index % 3) },
          actor: 'lead',
        }),
      ),
    );
    batches.push(
      ...(
        edge.db.prepare('SELECT upstream_seq FROM ledger ORDER BY upstream_seq').all() as Array<{
          upstream_seq: number;
        }>
      ).map((row) => row.upstream_seq),
    );
    expect(responses.every((response) => response.status === 201)).toBe(true);
    expect(batches).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
    const metrics = await edge.metrics.registry.getSingleMetricAsString('dovetail_edge_write_batch_size');
    // 300 scans submitted in one tick land in one transaction, not 300.
    expect(metrics).toMatch(/dovetail_edge_write_batch_size_count 1\b/);
  });

  it('answers a refused scan in a batch without disturbing the accepted ones', async () => {
    const [accepted, refused, alsoAccepted] = await Promise.all([
      edge.writer.submit({ command: { type: 'receive', sku: 'X', quantity: 2 }, actor: 'lead' }),
      edge.writer.submit({ command: { type: 'adjust', sku: 'X', delta: -5, reason: 'lost' }, actor: 'lead' }),
      edge.writer.submit({ command: { type: 'receive', sku: 'Y', quantity: 1 }, actor: 'lead' }),
    ]);
    expect([accepted?.status, refused?.status, alsoAccepted?.status]).toEqual([201, 409, 201]);
    expect(edge.queries.upstream()).toMatchObject({ lastSeq: 2, pending: 2 });
  });

  it('refuses new scans once closed, after answering the queued ones', async () => {
    const queued = edge.writer.submit({ command: { type: 'receive', sku: 'Z', quantity: 1 }, actor: 'lead' });
    const closing = edge.writer.close();
    await expect(queued).resolves.toMatchObject({ status: 201 });
    await closing;
    await expect(
      edge.writer.submit({ command: { type: 'receive', sku: 'Z', quantity: 1 }, actor: 'lead' }),
    ).rejects.toThrow(/closed/);
  });
});

describe('reopening a data directory', () => {
  it('keeps every committed scan and refuses another warehouse id', async () => {
    await edge.writer.submit({ command: { type: 'receive', sku: 'KEEP', quantity: 4 }, actor: 'lead' });
    await edge.close();
    const reopened = await startTestEdge({ dataDir: edge.dataDir });
    expect(reopened.book.view('KEEP').onHand).toBe(4);
    expect(reopened.edgeId).toBe(edge.edgeId);
    await reopened.close();
    await expect(startTestEdge({ dataDir: edge.dataDir, warehouseId: 'W2' })).rejects.toThrow(
      /belongs to warehouse W1/,
    );
    edge = await startTestEdge({ dataDir: edge.dataDir });
  });
});
