import {
  type PartitionState,
  emptyPartition,
  foldStockEvents,
  partitionDifferences,
  partitionStateSchema,
  stockEventSchema,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';

export type VerifyReport = {
  partitions: number;
  events: number;
  mismatches: Array<{ sku: string; differences: string[] }>;
  upstream: { lastSeq: number; ackedSeq: number; problems: string[] };
  ok: boolean;
};

/**
 * Recomputes every partition from its ledger and compares it with the stored state, then checks the
 * upstream stream: ledger seqs are exactly 1..last_seq, and the outbox holds exactly (acked, last].
 * Reads one partition at a time, so memory stays flat however long the ledger is.
 */
export function verifyEdgeDatabase(db: EdgeDatabase, progress?: (done: number, total: number) => void): VerifyReport {
  const read = db.transaction(() => {
    const skus = db
      .prepare<[], { sku: string }>('SELECT sku FROM partition UNION SELECT DISTINCT sku FROM ledger ORDER BY sku')
      .all()
      .map((row) => row.sku);
    const stored = db.prepare<[string], { state: string; events: number }>(
      'SELECT state, events FROM partition WHERE sku = ?',
    );
    const ledger = db.prepare<[string], { event: string }>('SELECT event FROM ledger WHERE sku = ? ORDER BY position');
    const mismatches: VerifyReport['mismatches'] = [];
    let events = 0;
    skus.forEach((sku, index) => {
      const rows = ledger.all(sku);
      events += rows.length;
      let folded: PartitionState;
      const differences: string[] = [];
      try {
        folded = foldStockEvents(
          emptyPartition(),
          rows.map((row) => stockEventSchema.parse(JSON.parse(row.event))),
        );
      } catch (error) {
        mismatches.push({ sku, differences: [`ledger does not fold: ${(error as Error).message}`] });
        return;
      }
      const row = stored.get(sku);
      if (!row) differences.push('ledger has events but no partition row');
      else {
        differences.push(...partitionDifferences(folded, partitionStateSchema.parse(JSON.parse(row.state))));
        if (row.events !== rows.length) differences.push(`events: ledger ${rows.length} ≠ stored ${row.events}`);
      }
      if (differences.length) mismatches.push({ sku, differences });
      if (progress && (index + 1) % 1000 === 0) progress(index + 1, skus.length);
    });

    const upstream = db
      .prepare<[], { last_seq: number; acked_seq: number }>('SELECT last_seq, acked_seq FROM upstream')
      .get();
    const lastSeq = upstream?.last_seq ?? 0;
    const ackedSeq = upstream?.acked_seq ?? 0;
    const problems: string[] = [];
    // Stock events (ledger) and fulfillment facts (fulfillment_event) share the one upstream stream.
    const streamed = `(SELECT upstream_seq AS seq, id FROM ledger WHERE upstream_seq IS NOT NULL
      UNION ALL SELECT upstream_seq AS seq, id FROM fulfillment_event)`;
    const seqs = db
      .prepare<[], { n: number; low: number | null; high: number | null }>(
        `SELECT count(*) AS n, min(seq) AS low, max(seq) AS high FROM ${streamed}`,
      )
      .get();
    if (seqs && seqs.n > 0 && (seqs.low !== 1 || seqs.high !== lastSeq || seqs.n !== lastSeq)) {
      problems.push(
        `ledger upstream seqs are not exactly 1..${lastSeq} (count ${seqs.n}, min ${seqs.low}, max ${seqs.high})`,
      );
    }
    if (seqs && seqs.n === 0 && lastSeq !== 0)
      problems.push(`upstream last seq is ${lastSeq} but the ledger holds none`);
    const outbox = db
      .prepare<[], { n: number; low: number | null; high: number | null }>(
        'SELECT count(*) AS n, min(seq) AS low, max(seq) AS high FROM outbox',
      )
      .get();
    const pending = lastSeq - ackedSeq;
    if (outbox && (outbox.n !== pending || (pending > 0 && (outbox.low !== ackedSeq + 1 || outbox.high !== lastSeq)))) {
      problems.push(
        `outbox holds ${outbox.n} rows (${outbox.low}..${outbox.high}), expected exactly ${ackedSeq + 1}..${lastSeq}`,
      );
    }
    const orphan = db
      .prepare<[], { n: number }>(
        `SELECT count(*) AS n FROM outbox LEFT JOIN ${streamed} AS streamed ON streamed.seq = outbox.seq AND streamed.id = outbox.event_id
         WHERE streamed.id IS NULL`,
      )
      .get();
    if (orphan && orphan.n > 0) problems.push(`${orphan.n} outbox rows do not match their ledger row`);
    return { partitions: skus.length, events, mismatches, upstream: { lastSeq, ackedSeq, problems } };
  });
  const result = read.deferred();
  return { ...result, ok: result.mismatches.length === 0 && result.upstream.problems.length === 0 };
}
