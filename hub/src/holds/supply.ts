import { type Configuration, conflict, dayMs, incomingArrivalAt, newId, type ReserveRequest } from '@dovetail/shared';
import { type Kysely, sql, type Transaction } from 'kysely';
import { priceLine, readSkuPricing } from '../catalog/service.ts';
import { catalogCacheOf } from '../catalog/cache.ts';
import { availableSql, freeUnits } from '../db/available.ts';
import type { Database } from '../database.ts';
import { type ConfiguredHoldView, reserveConfiguredHold } from './configured.ts';
import {
  compareLockOrder,
  holdCapExceeded,
  holdExpiresAt,
  insufficient,
  type ReserveContext,
  unitsPerSku,
  unknownSku,
} from './plan.ts';
import { postgresHoldBatcherOf } from './postgres-batcher.ts';
import { sqliteHoldWriterOf } from './sqlite-writer.ts';
import { releaseHoldPromises, settleExpiredPromises } from './promise-ledger.ts';
import { releaseHold, settleExpired } from './service.ts';

type Dialect = 'sqlite' | 'postgres';

/** How a SKU is supplied (docs/catalog.md, "Pre-orders and made-to-order"). */
export type SkuSupply = {
  fulfillment: 'stock' | 'made_to_order';
  leadTimeDays: number | null;
  productionWarehouseId: string | null;
  preorderCap: number;
};

/** A hold line promised against supply rather than taken from a shelf. */
export type PromiseView = {
  kind: 'preorder' | 'production';
  warehouseId: string;
  sku: string;
  quantity: number;
  expectedAt: string;
};

export type SuppliedHoldView = ConfiguredHoldView & { promises?: PromiseView[]; expectedShipAt?: string };

export async function readSupply(
  db: Kysely<Database> | Transaction<Database>,
  skus: readonly string[],
): Promise<Map<string, SkuSupply>> {
  if (skus.length === 0) return new Map();
  const rows = await db
    .selectFrom('variants')
    .select(['sku', 'fulfillment', 'lead_time_days', 'production_warehouse_id', 'preorder_cap'])
    .where('sku', 'in', [...skus])
    .execute();
  return new Map(
    rows.map((row) => [
      row.sku,
      {
        fulfillment: row.fulfillment === 'made_to_order' ? 'made_to_order' : 'stock',
        leadTimeDays: row.lead_time_days === null ? null : Number(row.lead_time_days),
        productionWarehouseId: row.production_warehouse_id,
        preorderCap: Number(row.preorder_cap),
      },
    ]),
  );
}

/**
 * `readSupply` through the catalog's read cache (catalog/cache.ts): every hold asks which of its
 * SKUs may be promised, and the answer changes only with a catalog write, which clears the cache (on
 * every instance, through the NOTIFY on PostgreSQL). A stale answer can at worst route a hold by a
 * cap just changed; what a partition promises is still bounded by its `incoming` under its lock.
 */
function cachedSupply(db: Kysely<Database>, skus: readonly string[]): Promise<Map<string, SkuSupply>> {
  const key = `supply:${[...new Set(skus)].sort().join('\u0000')}`;
  return catalogCacheOf(db).read(key, () => readSupply(db, skus));
}

type PromisedLine = { sku: string; quantity: number; configuration?: Configuration | undefined };

/**
 * A checkout hold whose SKUs may be pre-ordered or made to order (docs/catalog.md). A request
 * naming none of them is an ordinary hold (`reserveConfiguredHold`, the fast path). Otherwise its
 * plain lines are taken first as an ordinary hold, then, in one transaction under the partitions'
 * locks, each pre-orderable line takes what is on hand and the rest from `incoming` — at most
 * `preorderCap` units of a partition promised at once and never more than its incoming — and each
 * made-to-order line is promised against production at its producing warehouse. If the second step
 * is refused, the first is given back: all lines or none.
 */
export async function reserveSuppliedHold(
  db: Kysely<Database>,
  dialect: Dialect,
  request: ReserveRequest,
  context: ReserveContext,
): Promise<SuppliedHoldView> {
  const supply = await cachedSupply(
    db,
    request.lines.map((line) => line.sku),
  );
  const promised = (sku: string) => {
    const found = supply.get(sku);
    return found !== undefined && (found.fulfillment === 'made_to_order' || found.preorderCap > 0);
  };
  if (!request.lines.some((line) => promised(line.sku))) return reserveConfiguredHold(db, dialect, request, context);
  for (const line of request.lines) if (!supply.has(line.sku)) throw unknownSku(line.sku);

  const special = request.lines.filter((line) => promised(line.sku));
  const plain = request.lines.filter((line) => !promised(line.sku));
  // Configurations are checked before anything is taken; a configured option may add lead time.
  const pricing = await readSkuPricing(
    db,
    special.map((line) => line.sku),
  );
  const resolved = new Map<string, { configuration?: Configuration; leadTimeDays: number }>();
  for (const line of special) {
    const found = pricing.get(line.sku);
    if (!found) throw unknownSku(line.sku);
    const { configuration, breakdown } = priceLine(found, line.configuration);
    resolved.set(line.sku, {
      ...(configuration ? { configuration } : {}),
      leadTimeDays: breakdown.leadTimeDays ?? 0,
    });
  }

  const base: ConfiguredHoldView | undefined =
    plain.length > 0 ? await reserveConfiguredHold(db, dialect, { ...request, lines: plain }, context) : undefined;
  const expiresAt = base ? Date.parse(base.expiresAt) : holdExpiresAt(request, context.nowMs);
  const holdId = base?.id ?? newId();
  try {
    const taken = await db.transaction().execute((trx) =>
      takePromised(trx, dialect, {
        holdId,
        created: base === undefined,
        clientId: context.clientId,
        warehouseId: request.warehouseId,
        lines: special.map((line) => ({ ...line, configuration: resolved.get(line.sku)?.configuration })),
        supply,
        optionLeadDays: new Map([...resolved].map(([sku, entry]) => [sku, entry.leadTimeDays])),
        nowMs: context.nowMs,
        expiresAt,
        capDefault:
          dialect === 'sqlite'
            ? sqliteHoldWriterOf(db)?.holdUnitsPerSkuMax
            : postgresHoldBatcherOf(db)?.holdUnitsPerSkuMax,
      }),
    );
    const lines = [...(base?.lines ?? []), ...taken.lines];
    const view: SuppliedHoldView = {
      id: holdId,
      status: 'active',
      expiresAt: new Date(expiresAt).toISOString(),
      createdAt: base?.createdAt ?? new Date(context.nowMs).toISOString(),
      lines: request.lines.flatMap((line) => lines.filter((l) => l.sku === line.sku)),
    };
    if (taken.promises.length > 0) {
      view.promises = taken.promises;
      view.expectedShipAt = new Date(Math.max(...taken.promises.map((p) => Date.parse(p.expectedAt)))).toISOString();
    }
    return view;
  } catch (error) {
    if (base) await releaseHold(db, dialect, base.id, '*', context.nowMs).catch(() => undefined);
    throw error;
  }
}

const compareLockOrderRows = (a: { warehouse_id: string; sku: string }, b: { warehouse_id: string; sku: string }) =>
  compareLockOrder({ warehouseId: a.warehouse_id, sku: a.sku }, { warehouseId: b.warehouse_id, sku: b.sku });

type Candidate = { warehouse_id: string; available: number; incoming: number; preordered: number };

async function takePromised(
  trx: Transaction<Database>,
  dialect: Dialect,
  input: {
    holdId: string;
    created: boolean;
    clientId: string;
    warehouseId: string | undefined;
    lines: PromisedLine[];
    supply: Map<string, SkuSupply>;
    optionLeadDays: Map<string, number>;
    nowMs: number;
    expiresAt: number;
    capDefault: number | undefined;
  },
): Promise<{ lines: ConfiguredHoldView['lines']; promises: PromiseView[] }> {
  const { holdId, clientId, nowMs, expiresAt } = input;
  if (input.created) {
    await trx
      .insertInto('holds')
      .values({
        id: holdId,
        client_id: clientId,
        status: 'active',
        expires_at: expiresAt,
        created_at: nowMs,
        released_at: null,
      })
      .execute();
  }
  const existing = await trx
    .selectFrom('hold_lines')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('hold_id', '=', holdId)
    .executeTakeFirst();
  let lineNo = Number(existing?.n ?? 0);
  const preorders = input.lines.filter((line) => input.supply.get(line.sku)?.fulfillment !== 'made_to_order');
  // Every partition a pre-order may use, locked in the order every writer uses, then settled.
  let partitionQuery = trx
    .selectFrom('stock_partitions')
    .select(['warehouse_id', 'sku'])
    .where(
      'sku',
      'in',
      preorders.map((line) => line.sku),
    );
  if (input.warehouseId !== undefined) partitionQuery = partitionQuery.where('warehouse_id', '=', input.warehouseId);
  const partitions = preorders.length === 0 ? [] : (await partitionQuery.execute()).sort(compareLockOrderRows);
  for (const partition of partitions) {
    if (dialect === 'postgres')
      await sql`select 1 from stock_partitions where warehouse_id = ${partition.warehouse_id} and sku = ${partition.sku} for update`.execute(
        trx,
      );
    await settleExpired(trx, partition.warehouse_id, partition.sku, nowMs);
    await settleExpiredPromises(trx, partition.warehouse_id, partition.sku, nowMs);
  }

  // The hold cap (docs/operations.md, "Hold cap") over the shelf and pre-ordered units of each SKU,
  // after the row locks and, on PostgreSQL, under the (client, sku) lock every hold of the SKU takes.
  if (preorders.length > 0) await checkHoldCap(trx, dialect, clientId, preorders, input.capDefault, nowMs);

  const lines: ConfiguredHoldView['lines'] = [];
  const promises: PromiseView[] = [];
  const keepConfiguration = async (line: PromisedLine) => {
    if (line.configuration === undefined) return;
    await trx
      .insertInto('hold_configurations')
      .values({ hold_id: holdId, sku: line.sku, configuration_json: JSON.stringify(line.configuration) })
      .onConflict((oc) => oc.columns(['hold_id', 'sku']).doNothing())
      .execute();
  };

  for (const line of preorders) {
    const cap = input.supply.get(line.sku)?.preorderCap ?? 0;
    let query = trx
      .selectFrom('stock_partitions as p')
      .select(['p.warehouse_id', availableSql('p', nowMs).as('available'), 'p.incoming', 'p.preordered'])
      .where('p.sku', '=', line.sku);
    if (input.warehouseId !== undefined) query = query.where('p.warehouse_id', '=', input.warehouseId);
    const candidates: Candidate[] = (await query.execute()).map((row) => ({
      warehouse_id: row.warehouse_id,
      available: Math.max(0, Number(row.available)),
      incoming: Number(row.incoming),
      preordered: Number(row.preordered),
    }));
    const room = (c: Candidate) => Math.max(0, Math.min(c.incoming - c.preordered, cap - c.preordered));
    const byShelf = [...candidates].sort(
      (a, b) => b.available - a.available || (a.warehouse_id < b.warehouse_id ? -1 : 1),
    );
    let chosen = byShelf.find((c) => c.available >= line.quantity);
    if (!chosen) {
      const byTotal = [...candidates].sort(
        (a, b) => b.available + room(b) - (a.available + room(a)) || b.available - a.available,
      );
      const best = byTotal[0];
      if (!best || best.available + room(best) < line.quantity)
        throw insufficient(line, best ? best.available + room(best) : 0);
      chosen = best;
    }
    const fromShelf = Math.min(chosen.available, line.quantity);
    const fromIncoming = line.quantity - fromShelf;
    if (fromShelf > 0) {
      const taken = await sql`update stock_partitions set reserved = reserved + ${fromShelf}
        where warehouse_id = ${chosen.warehouse_id} and sku = ${line.sku} and ${sql.raw(freeUnits(''))} >= ${fromShelf}`.execute(
        trx,
      );
      if (Number(taken.numAffectedRows ?? 0n) !== 1) throw insufficient(line, chosen.available);
      await trx
        .insertInto('hold_lines')
        .values({
          hold_id: holdId,
          client_id: clientId,
          line_no: lineNo++,
          warehouse_id: chosen.warehouse_id,
          sku: line.sku,
          quantity: fromShelf,
          expires_at: expiresAt,
          counted: 1,
        })
        .execute();
      lines.push({ sku: line.sku, quantity: fromShelf, warehouseId: chosen.warehouse_id });
    }
    if (fromIncoming > 0) {
      const promisedNow = await sql`update stock_partitions set preordered = preordered + ${fromIncoming}
        where warehouse_id = ${chosen.warehouse_id} and sku = ${line.sku}
          and preordered + ${fromIncoming} <= incoming and preordered + ${fromIncoming} <= ${cap}`.execute(trx);
      if (Number(promisedNow.numAffectedRows ?? 0n) !== 1) throw insufficient(line, chosen.available + room(chosen));
      const open = await trx
        .selectFrom('purchase_order_lines')
        .select(['expected_at', 'quantity', 'received'])
        .where('warehouse_id', '=', chosen.warehouse_id)
        .where('sku', '=', line.sku)
        .where('open', '=', 1)
        .execute();
      const openLines = open.map((row) => ({
        expectedAt: Number(row.expected_at),
        remaining: Number(row.quantity) - Number(row.received),
      }));
      const expectedAt =
        incomingArrivalAt(openLines, chosen.preordered + fromIncoming) ??
        Math.max(nowMs, ...openLines.map((row) => row.expectedAt));
      await trx
        .insertInto('supply_promises')
        .values({
          id: newId(),
          hold_id: holdId,
          order_id: null,
          kind: 'preorder',
          warehouse_id: chosen.warehouse_id,
          sku: line.sku,
          quantity: fromIncoming,
          remaining: fromIncoming,
          status: 'held',
          counted: 1,
          expires_at: expiresAt,
          expected_at: expectedAt,
          created_at: nowMs,
        })
        .execute();
      promises.push({
        kind: 'preorder',
        warehouseId: chosen.warehouse_id,
        sku: line.sku,
        quantity: fromIncoming,
        expectedAt: new Date(expectedAt).toISOString(),
      });
    }
    await keepConfiguration(line);
  }

  for (const line of input.lines.filter((l) => input.supply.get(l.sku)?.fulfillment === 'made_to_order')) {
    const supply = input.supply.get(line.sku) as SkuSupply;
    const warehouseId = supply.productionWarehouseId as string;
    if (input.warehouseId !== undefined && input.warehouseId !== warehouseId)
      throw conflict('made_to_order_elsewhere', `${line.sku} is made at warehouse ${warehouseId}`, {
        sku: line.sku,
        warehouseId,
      });
    const known = await trx.selectFrom('warehouses').select('id').where('id', '=', warehouseId).executeTakeFirst();
    if (!known)
      throw conflict('no_production_warehouse', `${line.sku} names a producing warehouse the hub does not know`, {
        sku: line.sku,
        warehouseId,
      });
    const leadTimeDays = (supply.leadTimeDays ?? 0) + (input.optionLeadDays.get(line.sku) ?? 0);
    const expectedAt = nowMs + leadTimeDays * dayMs;
    await trx
      .insertInto('supply_promises')
      .values({
        id: newId(),
        hold_id: holdId,
        order_id: null,
        kind: 'production',
        warehouse_id: warehouseId,
        sku: line.sku,
        quantity: line.quantity,
        remaining: line.quantity,
        status: 'held',
        counted: 0,
        expires_at: expiresAt,
        expected_at: expectedAt,
        created_at: nowMs,
      })
      .execute();
    promises.push({
      kind: 'production',
      warehouseId,
      sku: line.sku,
      quantity: line.quantity,
      expectedAt: new Date(expectedAt).toISOString(),
    });
    await keepConfiguration(line);
  }
  return { lines, promises };
}

/** Refuses (409 `hold_cap_exceeded`) when a pre-order hold would take the client past its cap on a SKU. */
async function checkHoldCap(
  trx: Transaction<Database>,
  dialect: Dialect,
  clientId: string,
  lines: readonly PromisedLine[],
  capDefault: number | undefined,
  nowMs: number,
): Promise<void> {
  const client = await trx
    .selectFrom('api_clients')
    .select(['hold_units_per_sku_max', 'role'])
    .where('id', '=', clientId)
    .executeTakeFirst();
  const own = client?.hold_units_per_sku_max;
  const cap = own !== null && own !== undefined ? Number(own) : client?.role === 'storefront' ? capDefault : undefined;
  if (cap === undefined) return;
  const skus = [...new Set(lines.map((line) => line.sku))].sort();
  if (dialect === 'postgres')
    await sql`select pg_advisory_xact_lock(k) from (select distinct hashtextextended(${clientId} || chr(31) || s, 7) as k
      from unnest(${skus}::text[]) as u(s)) keys order by k`.execute(trx);
  for (const [sku, requested] of unitsPerSku(lines)) {
    const onShelf = await trx
      .selectFrom('hold_lines')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('quantity'), sql<number>`0`).as('held'))
      .where('client_id', '=', clientId)
      .where('sku', '=', sku)
      .where('counted', '=', 1)
      .where('expires_at', '>', nowMs)
      .executeTakeFirst();
    const preordered = await trx
      .selectFrom('supply_promises as p')
      .innerJoin('holds as h', 'h.id', 'p.hold_id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('p.remaining'), sql<number>`0`).as('held'))
      .where('h.client_id', '=', clientId)
      .where('p.sku', '=', sku)
      .where('p.status', '=', 'held')
      .where('p.counted', '=', 1)
      .where('p.expires_at', '>', nowMs)
      .executeTakeFirst();
    const held = Number(onShelf?.held ?? 0) + Number(preordered?.held ?? 0);
    if (held + requested > cap) throw holdCapExceeded(sku, cap, held, requested);
  }
}

/** The promises a hold made, as its view and its order show them. */
export async function holdPromises(
  db: Kysely<Database> | Transaction<Database>,
  holdId: string,
): Promise<Array<PromiseView & { id: string; remaining: number; status: string }>> {
  const rows = await db
    .selectFrom('supply_promises')
    .selectAll()
    .where('hold_id', '=', holdId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind as PromiseView['kind'],
    warehouseId: row.warehouse_id,
    sku: row.sku,
    quantity: Number(row.quantity),
    remaining: Number(row.remaining),
    status: row.status,
    expectedAt: new Date(Number(row.expected_at)).toISOString(),
  }));
}

export { releaseHoldPromises };
