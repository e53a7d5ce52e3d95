import {
  type PartitionState,
  emptyPartition,
  foldStockEvents,
  partitionDifferences,
  partitionStateSchema,
  partitionsEqual,
  stockEventSchema,
} from '@dovetail/shared';
import { verifyEdgeDatabase } from '@dovetail/edge';
import { simWarehouseId } from './templates.ts';
import type { World } from './world.ts';

/** The edge's upstream position: nothing pending means the outbox drained. */
export function upstreamOf(world: World): { lastSeq: number; ackedSeq: number; outbox: number } {
  const db = world.edge?.db;
  if (!db) throw new Error('the edge is down');
  const row = db
    .prepare<[], { last_seq: number; acked_seq: number }>('SELECT last_seq, acked_seq FROM upstream WHERE id = 1')
    .get();
  const outbox = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox').get();
  return { lastSeq: row?.last_seq ?? 0, ackedSeq: row?.acked_seq ?? 0, outbox: outbox?.n ?? 0 };
}

/** Downstream heads at the hub and cursors at the edge, per channel. */
export async function downstreamPositions(
  world: World,
): Promise<{ heads: Map<string, number>; cursors: Map<string, number> }> {
  const hub = world.hub;
  const edge = world.edge;
  if (!hub || !edge) throw new Error('both processes must be up');
  const heads = new Map(
    (await hub.db.selectFrom('downstream_channels').select(['channel', 'last_seq']).execute()).map((row) => [
      row.channel,
      Number(row.last_seq),
    ]),
  );
  const cursors = new Map(
    edge.db
      .prepare<[], { channel: string; seq: number }>('SELECT channel, seq FROM sync_cursor')
      .all()
      .map((row) => [row.channel, row.seq]),
  );
  return { heads, cursors };
}

/** The channels this edge subscribes to (the hub's session pumps exactly these). */
export const edgeChannels = ['catalog', `warehouse:${simWarehouseId}`];

/** True once the outbox drained and every channel the edge follows is at the hub's head. */
export async function converged(world: World): Promise<boolean> {
  if (!world.edge || !world.hub) return false;
  const upstream = upstreamOf(world);
  if (upstream.ackedSeq !== upstream.lastSeq || upstream.outbox !== 0) return false;
  const { heads, cursors } = await downstreamPositions(world);
  return edgeChannels.every((channel) => (cursors.get(channel) ?? 0) === (heads.get(channel) ?? 0));
}

/**
 * Every invariant the simulation checks, once the world healed. Returns what is broken (empty: all hold).
 */
export async function checkInvariants(world: World): Promise<string[]> {
  const hub = world.hub;
  const edge = world.edge;
  if (!hub || !edge) return ['both processes must be up to check invariants'];
  const problems: string[] = [];
  const warehouse = simWarehouseId;

  // 1. Liveness: the outbox drained.
  const upstream = upstreamOf(world);
  if (upstream.ackedSeq !== upstream.lastSeq || upstream.outbox !== 0) {
    problems.push(
      `outbox not drained: last seq ${upstream.lastSeq}, acked ${upstream.ackedSeq}, ${upstream.outbox} rows`,
    );
  }

  // 2. Exactly once: every committed edge event is at the hub once, at its seq; every 201 was committed.
  const ledger = edge.db
    .prepare<[], { id: string; upstream_seq: number }>('SELECT id, upstream_seq FROM ledger ORDER BY upstream_seq')
    .all();
  const ledgerSeq = new Map(ledger.map((row) => [row.id, row.upstream_seq]));
  const hubEvents = await hub.db
    .selectFrom('stock_events')
    .select(['event_id', 'edge_seq', 'sku', 'event_json'])
    .where('warehouse_id', '=', warehouse)
    .orderBy('edge_seq')
    .execute();
  const rejections = await hub.db
    .selectFrom('sync_rejections')
    .select(['event_id', 'edge_seq', 'reason', 'sku'])
    .where('warehouse_id', '=', warehouse)
    .execute();
  const hubCount = new Map<string, number>();
  for (const row of hubEvents) hubCount.set(row.event_id, (hubCount.get(row.event_id) ?? 0) + 1);
  for (const row of rejections) {
    // Only a SKU the hub did not know may be refused, and only by a hub that refuses uncataloged
    // stock; the hub's replica otherwise folds exactly what the edge folded, so any other refusal
    // means the replica drifted.
    if (world.uncatalogedStock === 'accept')
      problems.push(`hub rejected seq ${row.edge_seq} (${row.sku}): ${row.reason}, but it accepts uncataloged stock`);
    else if (!world.ghostSkus.has(row.sku))
      problems.push(
        `hub rejected seq ${row.edge_seq} (${row.sku}): ${row.reason}, but the hub's catalog knew that SKU`,
      );
  }
  const rejected = new Set(rejections.map((row) => row.event_id));
  if (rejected.size !== rejections.length) problems.push('an event was rejected more than once');
  for (const id of world.acknowledged) {
    if (!ledgerSeq.has(id))
      problems.push(`event ${id} was acknowledged to a scanner (201) but is not in the edge ledger`);
    const count = hubCount.get(id) ?? 0;
    if (rejected.has(id) ? count !== 0 : count !== 1) {
      problems.push(
        `acknowledged event ${id} (seq ${ledgerSeq.get(id)}) is at the hub ${count} times${rejected.has(id) ? ' and rejected' : ''}`,
      );
    }
  }
  for (const row of hubEvents) {
    const seq = ledgerSeq.get(row.event_id);
    if (seq === undefined)
      problems.push(`hub holds event ${row.event_id} (seq ${row.edge_seq}) that the edge never committed`);
    else if (seq !== Number(row.edge_seq))
      problems.push(`hub holds event ${row.event_id} at seq ${row.edge_seq}, the edge at ${seq}`);
  }
  for (const row of ledger) {
    if (!hubCount.has(row.id) && !rejected.has(row.id))
      problems.push(`edge event seq ${row.upstream_seq} never reached the hub`);
  }
  const stream = await hub.db
    .selectFrom('edge_streams')
    .select(['applied_seq', 'edge_id'])
    .where('warehouse_id', '=', warehouse)
    .executeTakeFirst();
  if (upstream.lastSeq > 0 && (!stream || Number(stream.applied_seq) !== upstream.lastSeq)) {
    problems.push(`hub stream applied seq ${stream?.applied_seq} ≠ edge last seq ${upstream.lastSeq}`);
  }

  // 3. Each partition's hub replica equals the edge's state.
  const edgePartitions = new Map(
    edge.db
      .prepare<[], { sku: string; state: string }>('SELECT sku, state FROM partition')
      .all()
      .map((row) => [row.sku, partitionStateSchema.parse(JSON.parse(row.state))]),
  );
  const hubPartitions = new Map<string, PartitionState>();
  for (const row of await hub.db
    .selectFrom('stock_partitions')
    .select(['sku', 'state_json'])
    .where('warehouse_id', '=', warehouse)
    .execute()) {
    if (row.state_json === null) problems.push(`hub partition ${row.sku} has no state_json`);
    else hubPartitions.set(row.sku, partitionStateSchema.parse(JSON.parse(row.state_json)));
  }
  // A partition with a rejected event legitimately differs (the hub refused part of its ledger);
  // repairing it is the checkpoint checksums' job, which this simulation does not cover.
  const drifted = new Set(rejections.map((row) => row.sku));
  for (const sku of new Set([...edgePartitions.keys(), ...hubPartitions.keys()])) {
    if (drifted.has(sku)) continue;
    const atEdge = edgePartitions.get(sku) ?? emptyPartition();
    const atHub = hubPartitions.get(sku) ?? emptyPartition();
    if (!partitionsEqual(atEdge, atHub))
      problems.push(
        `partition ${sku}: hub replica differs from the edge: ${partitionDifferences(atEdge, atHub).join('; ')}`,
      );
  }

  // 4. Both ledgers fold to their state.
  const report = verifyEdgeDatabase(edge.db);
  if (!report.ok)
    problems.push(
      `edge verify: ${JSON.stringify({ mismatches: report.mismatches, upstream: report.upstream.problems })}`,
    );
  const bySku = new Map<string, unknown[]>();
  for (const row of hubEvents) {
    const list = bySku.get(row.sku) ?? [];
    list.push(JSON.parse(row.event_json));
    bySku.set(row.sku, list);
  }
  for (const [sku, events] of bySku) {
    try {
      const folded = foldStockEvents(
        emptyPartition(),
        events.map((event) => stockEventSchema.parse(event)),
      );
      const stored = hubPartitions.get(sku);
      if (!stored) problems.push(`hub ledger has events for ${sku} but no partition replica`);
      else if (!partitionsEqual(folded, stored))
        problems.push(
          `hub ledger of ${sku} does not fold to its replica: ${partitionDifferences(folded, stored).join('; ')}`,
        );
    } catch (error) {
      problems.push(`hub ledger of ${sku} does not fold: ${(error as Error).message}`);
    }
  }

  // 5. Downstream: every change applied at the edge in order exactly once, replicas equal.
  const { heads, cursors } = await downstreamPositions(world);
  for (const channel of edgeChannels) {
    const head = heads.get(channel) ?? 0;
    const cursor = cursors.get(channel) ?? 0;
    if (cursor !== head) problems.push(`edge cursor on ${channel} is ${cursor}, hub head ${head}`);
    const applied = world.appliedLog.get(channel) ?? [];
    const expected = Array.from({ length: head }, (_, i) => i + 1);
    if (applied.join(',') !== expected.join(',')) {
      problems.push(
        `changes on ${channel} applied as [${applied.join(',')}], expected each of 1..${head} once in order`,
      );
    }
  }
  const hubVariants = await hub.db
    .selectFrom('variants')
    .innerJoin('products', 'products.id', 'variants.product_id')
    .select([
      'variants.sku',
      'variants.product_id',
      'variants.gtin',
      'variants.options_json',
      'products.name',
      'products.archived',
    ])
    .orderBy('variants.sku')
    .execute();
  const edgeVariants = edge.db
    .prepare<
      [],
      { sku: string; product_id: string; name: string; gtin: string | null; options: string; archived: number }
    >('SELECT sku, product_id, name, gtin, options, archived FROM catalog_variant ORDER BY sku')
    .all();
  const hubRows = hubVariants.map((row) =>
    JSON.stringify([
      row.sku,
      row.product_id,
      row.name,
      row.gtin,
      JSON.parse(row.options_json),
      Number(row.archived) === 1,
    ]),
  );
  const edgeRows = edgeVariants.map((row) =>
    JSON.stringify([row.sku, row.product_id, row.name, row.gtin, JSON.parse(row.options), row.archived === 1]),
  );
  // The edge keeps a variant the hub dropped from a product (archived); the simulation never drops one.
  if (hubRows.join('\n') !== edgeRows.join('\n')) {
    const missing = hubRows.filter((row) => !edgeRows.includes(row));
    const extra = edgeRows.filter((row) => !hubRows.includes(row));
    problems.push(`edge catalog replica differs from the hub: missing ${missing.join(' ')}; extra ${extra.join(' ')}`);
  }

  // 6. Every durable rejection reaches the edge, where staff see it (they must surface at the edge).
  const edgeRejections = edge.db
    .prepare<[], { seq: number; reason: string }>('SELECT seq, reason FROM sync_rejection ORDER BY seq')
    .all();
  const atEdge = edgeRejections.map((row) => `${row.seq}:${row.reason}`).join(',');
  const atHub = rejections
    .map((row) => ({ seq: Number(row.edge_seq), reason: row.reason }))
    .sort((a, b) => a.seq - b.seq)
    .map((row) => `${row.seq}:${row.reason}`)
    .join(',');
  if (atEdge !== atHub) problems.push(`rejections at the edge [${atEdge}] ≠ at the hub [${atHub}]`);
  return problems;
}
