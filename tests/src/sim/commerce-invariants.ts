import type { Commerce } from './commerce.ts';
import { simWarehouseId, templateMadeToOrderSku } from './templates.ts';
import type { World } from './world.ts';

const warehouse = simWarehouseId;
const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

/**
 * No oversell, at the hub, for every commerce partition (docs/architecture.md, "Quantities"), at every step of a schedule:
 *
 *   reserved(unexpired) + committed + edge_quota + preordered(unexpired)
 *     ≤  on_hand − damaged − quality_control + incoming + lost + shipping
 *
 * - `preordered` is what pre-orders were promised against `incoming` (the open purchase-order lines,
 *   docs/catalog.md), and on its own never exceeds `incoming`: the shelf is never promised twice and
 *   incoming is never promised past what was ordered from suppliers. Made-to-order lines promise no
 *   stock: their capacity is the production request each paid one becomes, so they add nothing here;
 * - the left side is everything the hub has promised: unexpired hold lines, open allocations and
 *   the selling rights out at the edge (granted, not yet sold or given back);
 * - `on_hand − damaged − quality_control` is the hub's replica of the units physically there;
 * - `lost` is what the schedule itself recorded as physical loss on that SKU and the edge accepted
 *   (damage, lost/theft/correction adjustments, counts below on hand: units that left or became
 *   unsellable without a promise behind them), summed over the whole schedule: the oracle, taken
 *   from the schedule's own commands and the edge's 201s, never from the hub. A hold, payment,
 *   grant or in-store sale never excuses anything; in lossless schedules `lost` is 0 and the
 *   bound is exact;
 * - `shipping` is the units of shipments the edge made (oracle) whose `fulfillment_shipped` fact the
 *   hub has not applied yet: the `ship` stock events precede the fact in the stream, and a push batch
 *   may end between them, so for a moment the hub has taken the units off on_hand but not yet out of
 *   committed. Once healed it must be 0 (checked by `checkCommerce`).
 *
 * So promises exceed the units present only by recorded loss, never because a hold, a grant, a sale
 * and a shipment raced each other across the network. The same pass checks the counters against the
 * rows they count (`reserved` = counted hold lines, `committed` = open allocations) and that the edge
 * never holds more rights than the hub counts out (`edgeQuota` at the edge ≤ `edge_quota` at the hub:
 * grants raise the hub first, sales and returns lower the edge first).
 */
export async function checkPromises(world: World, commerce: Commerce, options: { healed: boolean }): Promise<string[]> {
  const hub = world.hub;
  if (!hub) return [];
  // The made-to-order SKU too: its units are on hand only once received against a production request.
  const skus = [...commerce.profile.skus, templateMadeToOrderSku];
  const problems: string[] = [];
  const partitions = await hub.db
    .selectFrom('stock_partitions')
    .select([
      'sku',
      'on_hand',
      'damaged',
      'quality_control',
      'reserved',
      'committed',
      'edge_quota',
      'safety_stock',
      'incoming',
      'preordered',
    ])
    .where('warehouse_id', '=', warehouse)
    .where('sku', 'in', skus)
    .execute();
  const holdLines = await hub.db
    .selectFrom('hold_lines')
    .select(['sku', 'quantity', 'expires_at'])
    .where('warehouse_id', '=', warehouse)
    .where('sku', 'in', skus)
    .where('counted', '=', 1)
    .execute();
  const allocations = await hub.db
    .selectFrom('allocations')
    .select(['sku', 'quantity', 'shipping'])
    .where('warehouse_id', '=', warehouse)
    .where('sku', 'in', skus)
    .where('status', '=', 'committed')
    .execute();
  // Supply (docs/catalog.md, "Pre-orders and made-to-order"): promises against incoming, and the
  // open purchase-order lines `incoming` counts.
  const preorders = await hub.db
    .selectFrom('supply_promises')
    .select(['sku', 'remaining', 'status', 'expires_at'])
    .where('warehouse_id', '=', warehouse)
    .where('sku', 'in', skus)
    .where('kind', '=', 'preorder')
    .where('counted', '=', 1)
    .execute();
  const purchaseLines = await hub.db
    .selectFrom('purchase_order_lines')
    .select(['sku', 'quantity', 'received'])
    .where('warehouse_id', '=', warehouse)
    .where('sku', 'in', skus)
    .where('open', '=', 1)
    .execute();
  const shipped = new Set<string>();
  if (!options.healed && commerce.oracle.shipments.size > 0) {
    const rows = await hub.db
      .selectFrom('fulfillments')
      .select(['id'])
      .where('warehouse_id', '=', warehouse)
      .where('status', '=', 'shipped')
      .execute();
    for (const row of rows) shipped.add(row.id);
  }
  for (const sku of skus) {
    const row = partitions.find((partition) => partition.sku === sku);
    const counted = holdLines.filter((line) => line.sku === sku);
    const reservedRows = sum(counted.map((line) => Number(line.quantity)));
    const expired = sum(
      counted.filter((line) => Number(line.expires_at) <= world.nowMs).map((line) => Number(line.quantity)),
    );
    // Units whose `ship` events were applied left `committed` already; their row closes with the fact.
    const committedRows = sum(
      allocations
        .filter((allocation) => allocation.sku === sku)
        .map((allocation) => Number(allocation.quantity) - Number(allocation.shipping)),
    );
    if (!row) {
      if (reservedRows + committedRows > 0)
        problems.push(
          `${sku}: ${reservedRows} held and ${committedRows} committed on a partition the hub does not have`,
        );
      continue;
    }
    const promisedRows = preorders.filter((promise) => promise.sku === sku);
    const preorderedRows = sum(promisedRows.map((promise) => Number(promise.remaining)));
    // A hold's pre-order stops counting at its expiry, like its held units, before anything settles it.
    const preorderedExpired = sum(
      promisedRows
        .filter((promise) => promise.status === 'held' && Number(promise.expires_at) <= world.nowMs)
        .map((promise) => Number(promise.remaining)),
    );
    const incomingRows = sum(
      purchaseLines.filter((line) => line.sku === sku).map((line) => Number(line.quantity) - Number(line.received)),
    );
    const figures = {
      onHand: Number(row.on_hand),
      damaged: Number(row.damaged),
      qualityControl: Number(row.quality_control),
      reserved: Number(row.reserved),
      expiredInCounter: expired,
      committed: Number(row.committed),
      edgeQuota: Number(row.edge_quota),
      safetyStock: Number(row.safety_stock),
      incoming: Number(row.incoming),
      preordered: Number(row.preordered),
    };
    if (figures.preordered !== preorderedRows)
      problems.push(`${sku}: hub preordered is ${figures.preordered}, its counted pre-orders sum to ${preorderedRows}`);
    if (figures.incoming !== incomingRows)
      problems.push(
        `${sku}: hub incoming is ${figures.incoming}, its open purchase-order lines sum to ${incomingRows}`,
      );
    const preordered = figures.preordered - preorderedExpired;
    if (preordered > figures.incoming)
      problems.push(`${sku}: ${preordered} pre-ordered units promised against ${figures.incoming} incoming`);
    if (figures.reserved !== reservedRows)
      problems.push(`${sku}: hub reserved is ${figures.reserved}, its counted hold lines sum to ${reservedRows}`);
    if (figures.committed !== committedRows)
      problems.push(`${sku}: hub committed is ${figures.committed}, its open allocations sum to ${committedRows}`);
    if (figures.edgeQuota < 0) problems.push(`${sku}: hub edge_quota is negative (${figures.edgeQuota})`);
    let shipping = 0;
    for (const [fulfillmentId, shipment] of commerce.oracle.shipments) {
      if (options.healed || shipped.has(fulfillmentId)) continue;
      shipping += sum(shipment.lines.filter((line) => line.sku === sku).map((line) => line.quantity));
    }
    const lost = commerce.oracle.lost.get(sku) ?? 0;
    const promised = figures.reserved - expired + figures.committed + figures.edgeQuota + preordered;
    const present = figures.onHand - figures.damaged - figures.qualityControl;
    if (promised > present + figures.incoming + lost + shipping) {
      problems.push(
        `oversold ${sku}: promised ${promised} (held ${figures.reserved - expired} + committed ${figures.committed} + in-store rights ${figures.edgeQuota} + pre-ordered ${preordered}) > present ${present} + incoming ${figures.incoming} + recorded loss ${lost} + shipping ${shipping} ${JSON.stringify(figures)}`,
      );
    }
    const edge = world.edge;
    if (edge) {
      const atEdge = edge.book.read(sku).state.edgeQuota;
      if (options.healed ? atEdge !== figures.edgeQuota : atEdge > figures.edgeQuota) {
        problems.push(
          `${sku}: the edge holds ${atEdge} in-store rights, the hub counts ${figures.edgeQuota} out${options.healed ? ' (healed: they must be equal)' : ''}`,
        );
      }
    }
  }
  problems.push(...(await checkProduction(world)));
  return problems;
}

/**
 * Made-to-order capacity: every paid made-to-order unit still owed is an open production request
 * (quantity − received = what the promise still waits for), a supplied promise's request is
 * completed, a released one's canceled, and no request exists without its promise.
 */
async function checkProduction(world: World): Promise<string[]> {
  const hub = world.hub;
  if (!hub) return [];
  const problems: string[] = [];
  const promises = await hub.db
    .selectFrom('supply_promises')
    .select(['id', 'status', 'remaining'])
    .where('kind', '=', 'production')
    .where('status', 'in', ['waiting', 'supplied', 'released'])
    .where('order_id', 'is not', null)
    .execute();
  const requests = await hub.db
    .selectFrom('production_requests')
    .select(['promise_id', 'status', 'quantity', 'received'])
    .execute();
  const byPromise = new Map(requests.map((request) => [request.promise_id, request]));
  for (const promise of promises) {
    const request = byPromise.get(promise.id);
    if (!request) {
      problems.push(`made-to-order promise ${promise.id} (${promise.status}) has no production request`);
      continue;
    }
    const owed = Number(request.quantity) - Number(request.received);
    if (promise.status === 'waiting' && (request.status !== 'requested' || owed !== Number(promise.remaining)))
      problems.push(
        `made-to-order promise ${promise.id} waits for ${promise.remaining}, its request is ${request.status} owing ${owed}`,
      );
    if (promise.status === 'supplied' && request.status !== 'completed')
      problems.push(`made-to-order promise ${promise.id} was supplied, its request is ${request.status}`);
    if (promise.status === 'released' && request.status === 'requested')
      problems.push(`made-to-order promise ${promise.id} was released, its request is still requested`);
  }
  if (requests.length !== promises.length)
    problems.push(`${requests.length} production requests for ${promises.length} paid made-to-order promises`);
  return problems;
}

/**
 * Issue 5's invariants once the world healed (both sides up, outbox drained, channels caught up),
 * against the oracle: rights conserved, every shipment and fact at the hub exactly once, allocations
 * and order statuses consistent with what the edge did to its fulfillment orders.
 */
export async function checkCommerce(world: World, commerce: Commerce): Promise<string[]> {
  const hub = world.hub;
  const edge = world.edge;
  if (!hub || !edge) return ['both processes must be up to check the commerce invariants'];
  const { oracle } = commerce;
  const problems = await checkPromises(world, commerce, { healed: true });

  // Rights: every grant reached the edge once; granted = left at the edge + sold + given back.
  const ledger = edge.db
    .prepare<[], { sku: string; type: string; event: string }>(
      "SELECT sku, type, event FROM ledger WHERE type IN ('quota_grant', 'quota_return')",
    )
    .all()
    .map((row) => ({
      sku: row.sku,
      type: row.type,
      ...(JSON.parse(row.event) as { quantity: number; reference?: string }),
    }));
  const grantsAtEdge = new Map<string, number>();
  for (const row of ledger)
    if (row.type === 'quota_grant' && row.reference)
      grantsAtEdge.set(row.reference, (grantsAtEdge.get(row.reference) ?? 0) + 1);
  for (const grant of oracle.grantIds) {
    const times = grantsAtEdge.get(grant.id) ?? 0;
    if (times !== 1) problems.push(`grant of ${grant.sku}×${grant.quantity} applied ${times} times at the edge`);
  }
  if (sum(grantsAtEdge.values()) !== oracle.grantIds.length)
    problems.push(`the edge applied ${sum(grantsAtEdge.values())} grants, the hub made ${oracle.grantIds.length}`);
  for (const sku of commerce.profile.skus) {
    const granted = oracle.granted.get(sku) ?? 0;
    const sold = oracle.soldInStore.get(sku) ?? 0;
    const returned = sum(
      ledger.filter((row) => row.sku === sku && row.type === 'quota_return').map((row) => row.quantity),
    );
    const left = edge.book.read(sku).state.edgeQuota;
    if (sold > granted) problems.push(`${sku}: the edge sold ${sold} in store, it was granted ${granted}`);
    if (granted !== left + sold + returned)
      problems.push(
        `${sku}: rights not conserved: granted ${granted} ≠ left at the edge ${left} + sold ${sold} + returned ${returned}`,
      );
  }

  // Facts: each one the edge recorded is at the hub exactly once; nothing else is.
  const edgeFacts = edge.db
    .prepare<[], { id: string; fulfillment_id: string; type: string }>(
      'SELECT id, fulfillment_id, type FROM fulfillment_event',
    )
    .all();
  const edgeFactIds = new Set(edgeFacts.map((fact) => fact.id));
  for (const id of oracle.facts)
    if (!edgeFactIds.has(id))
      problems.push(`fact ${id} was answered 201 at the edge but is not in its fulfillment_event table`);
  const hubFacts = await hub.db
    .selectFrom('edge_facts')
    .select(['event_id', 'type'])
    .where('warehouse_id', '=', warehouse)
    .execute();
  const hubFactCount = new Map<string, number>();
  for (const fact of hubFacts) hubFactCount.set(fact.event_id, (hubFactCount.get(fact.event_id) ?? 0) + 1);
  for (const fact of edgeFacts) {
    const times = hubFactCount.get(fact.id) ?? 0;
    if (times !== 1) problems.push(`fact ${fact.type} of ${fact.fulfillment_id} is at the hub ${times} times`);
  }
  for (const fact of hubFacts)
    if (!edgeFactIds.has(fact.event_id))
      problems.push(`the hub applied fact ${fact.type} ${fact.event_id} the edge never recorded`);

  // Shipments: every one the edge made is at the hub once, on its fulfillment order; no others.
  const shipments = await hub.db
    .selectFrom('shipments')
    .select(['id', 'fulfillment_id'])
    .where('warehouse_id', '=', warehouse)
    .execute();
  const shipmentIds = new Set([...oracle.shipments.values()].map((shipment) => shipment.shipmentId));
  for (const [fulfillmentId, shipment] of oracle.shipments) {
    const rows = shipments.filter((row) => row.id === shipment.shipmentId);
    if (rows.length !== 1 || rows[0]?.fulfillment_id !== fulfillmentId)
      problems.push(`shipment of ${fulfillmentId} is at the hub ${rows.length} times (${JSON.stringify(rows)})`);
  }
  for (const row of shipments)
    if (!shipmentIds.has(row.id))
      problems.push(`the hub holds shipment ${row.id} of ${row.fulfillment_id} that the edge never made`);

  // Fulfillment orders: the same set on both sides, statuses and open allocations matching.
  const atEdge = new Map(commerce.edgeFulfillments().map((row) => [row.id, row]));
  const refusedAt = new Set(
    edgeFacts.filter((fact) => fact.type === 'fulfillment_cancel_refused').map((fact) => fact.fulfillment_id),
  );
  const acceptedAt = new Set(
    edgeFacts.filter((fact) => fact.type === 'fulfillment_canceled').map((fact) => fact.fulfillment_id),
  );
  const fulfillments = await hub.db
    .selectFrom('fulfillments')
    .select(['id', 'order_id', 'status', 'cancel_state'])
    .where('warehouse_id', '=', warehouse)
    .execute();
  const allocations = await hub.db
    .selectFrom('allocations')
    .select(['fulfillment_id', 'sku', 'quantity', 'status'])
    .where('warehouse_id', '=', warehouse)
    .execute();
  const expectedHubStatus: Record<string, string> = {
    open: 'requested',
    picking: 'requested',
    packed: 'packed',
    shipped: 'shipped',
    canceled: 'canceled',
  };
  for (const fulfillment of fulfillments) {
    const mirror = atEdge.get(fulfillment.id);
    if (!mirror) {
      problems.push(`fulfillment ${fulfillment.id} (${fulfillment.status}) never reached the edge`);
      continue;
    }
    const label = `fulfillment of ${mirror.order_number}`;
    if (expectedHubStatus[mirror.status] !== fulfillment.status)
      problems.push(`${label} is ${mirror.status} at the edge, ${fulfillment.status} at the hub`);
    const own = allocations.filter((allocation) => allocation.fulfillment_id === fulfillment.id);
    const open = own.filter((allocation) => allocation.status === 'committed');
    if ((fulfillment.status === 'shipped' || fulfillment.status === 'canceled') && open.length > 0)
      problems.push(`${label} is ${fulfillment.status} but still commits ${JSON.stringify(open)}`);
    if (fulfillment.status !== 'shipped' && own.some((allocation) => allocation.status === 'shipped'))
      problems.push(`${label} is ${fulfillment.status} with shipped allocations`);
    if (fulfillment.status === 'shipped' && !own.some((allocation) => allocation.status === 'shipped'))
      problems.push(`${label} shipped with no shipped allocation: ${JSON.stringify(own)}`);
    if (fulfillment.status === 'requested' || fulfillment.status === 'packed') {
      for (const line of mirror.lines) {
        const committed = sum(
          open.filter((allocation) => allocation.sku === line.sku).map((allocation) => Number(allocation.quantity)),
        );
        if (committed !== line.quantity)
          problems.push(`${label}: the edge still owes ${line.quantity} × ${line.sku}, the hub commits ${committed}`);
      }
    }
    if (acceptedAt.has(fulfillment.id) && fulfillment.cancel_state !== 'accepted')
      problems.push(`${label}: the edge accepted the cancel, the hub has cancel_state ${fulfillment.cancel_state}`);
    if (refusedAt.has(fulfillment.id) && fulfillment.cancel_state !== 'refused')
      problems.push(`${label}: the edge refused the cancel, the hub has cancel_state ${fulfillment.cancel_state}`);
  }
  for (const [id, mirror] of atEdge)
    if (!fulfillments.some((row) => row.id === id))
      problems.push(`the edge holds fulfillment ${mirror.order_number} the hub never sent`);

  // Orders: statuses follow what the warehouse did; the schedule's answers hold.
  const orderIds = oracle.orders.map((order) => order.id);
  const orders =
    orderIds.length === 0
      ? []
      : await hub.db.selectFrom('orders').select(['id', 'status']).where('id', 'in', orderIds).execute();
  // A paid order whose lines were all promised against supply has no fulfillment order until some arrives.
  const promisedOrders = new Map<string, string[]>();
  if (orderIds.length > 0)
    for (const row of await hub.db
      .selectFrom('supply_promises')
      .select(['order_id', 'status'])
      .where('order_id', 'in', orderIds)
      .execute())
      if (row.order_id) promisedOrders.set(row.order_id, [...(promisedOrders.get(row.order_id) ?? []), row.status]);
  for (const order of oracle.orders) {
    const status = orders.find((row) => row.id === order.id)?.status;
    // A return asked for moves a shipped order on (`return_requested`, then `returned` once received).
    const returning = [...oracle.returns.values()].some((rma) => rma.orderName === order.name);
    const own = fulfillments.filter((row) => row.order_id === order.id);
    if (order.canceled && status !== 'canceled')
      problems.push(`${order.name} was canceled unpaid, the hub has it ${status}`);
    const promised = promisedOrders.get(order.id) ?? [];
    if (order.paid && own.length === 0 && (promised.length === 0 || promised.includes('supplied')))
      problems.push(`${order.name} was paid but has no fulfillment order`);
    if (own.some((row) => refusedAt.has(row.id))) {
      if (status !== 'return_requested' && !(returning && status === 'returned'))
        problems.push(
          `${order.name}: the edge refused to cancel (shipped), the order is ${status}, not return_requested`,
        );
    } else if (order.cancelRequested && own.length > 0 && own.every((row) => acceptedAt.has(row.id))) {
      if (status !== 'canceled') problems.push(`${order.name}: every cancel was accepted, the order is ${status}`);
    } else if (!order.cancelRequested && own.length > 0 && own.every((row) => row.status === 'shipped')) {
      const allowed = ['shipped', 'partially_shipped', ...(returning ? ['return_requested', 'returned'] : [])];
      if (!allowed.includes(status ?? ''))
        problems.push(`${order.name}: its fulfillment orders shipped, the order is ${status}`);
    }
  }

  // Without loss there is never a shortage (promises never exceed the units present, see above), so
  // the hub must never have asked the edge to release units of an order: a release here re-routes or
  // backorders a customer's order while its units sit on the shelf.
  if (commerce.profile.lossless) {
    for (const fact of edgeFacts.filter((row) => row.type === 'fulfillment_released')) {
      const mirror = atEdge.get(fact.fulfillment_id);
      problems.push(
        `no unit was lost, yet the hub asked the edge to release units of ${mirror?.order_number ?? fact.fulfillment_id}`,
      );
    }
  }

  // Holds: released ones hold nothing.
  const releasedIds = oracle.holds.filter((hold) => hold.released).map((hold) => hold.id);
  if (releasedIds.length > 0) {
    const still = await hub.db
      .selectFrom('hold_lines')
      .select(['hold_id'])
      .where('hold_id', 'in', releasedIds)
      .where('counted', '=', 1)
      .execute();
    if (still.length > 0) problems.push(`${still.length} lines of released holds still count in reserved`);
  }
  problems.push(...(await checkReturns(world, commerce)));
  return problems;
}

/**
 * Returns and refunds, once healed (docs/returns.md):
 * - a returned unit is restocked exactly once: for every return, the units the edge answered 201
 *   for (the oracle; replays count nothing) are what the edge's return lines count, what the hub's
 *   return lines count, and what the hub's `return_restock` stock events carry (restock and damaged;
 *   missing units have none), each event applied once;
 * - a return never receives more than was authorized, on either side;
 * - refunds never exceed payments: per order, recorded refunds ≤ the total of a paid order (0 unpaid).
 */
export async function checkReturns(world: World, commerce: Commerce): Promise<string[]> {
  const hub = world.hub;
  const edge = world.edge;
  if (!hub || !edge) return [];
  const { oracle } = commerce;
  const problems: string[] = [];
  const hubLines = await hub.db
    .selectFrom('return_lines')
    .select(['return_id', 'sku', 'quantity', 'restocked', 'damaged', 'missing'])
    .execute();
  const edgeLines = edge.db
    .prepare<
      [],
      { return_id: string; sku: string; quantity: number; restocked: number; damaged: number; missing: number }
    >('SELECT return_id, sku, quantity, restocked, damaged, missing FROM return_line')
    .all();
  for (const [side, lines] of [
    ['hub', hubLines],
    ['edge', edgeLines],
  ] as const) {
    for (const line of lines) {
      const accounted = Number(line.restocked) + Number(line.damaged) + Number(line.missing);
      if (accounted > Number(line.quantity))
        problems.push(
          `${side}: return ${line.return_id} accounts ${accounted} × ${line.sku}, ${line.quantity} authorized`,
        );
    }
  }
  const restockEvents = await hub.db
    .selectFrom('stock_events')
    .select(['event_id', 'event_json'])
    .where('type', '=', 'return_restock')
    .execute();
  const eventTimes = new Map<string, number>();
  const restockedAtHub = new Map<string, number>();
  for (const row of restockEvents) {
    eventTimes.set(row.event_id, (eventTimes.get(row.event_id) ?? 0) + 1);
    const event = JSON.parse(row.event_json) as { rma: string; sku: string; quantity: number };
    const key = `${event.rma}/${event.sku}`;
    restockedAtHub.set(key, (restockedAtHub.get(key) ?? 0) + event.quantity);
  }
  for (const [id, times] of eventTimes) if (times !== 1) problems.push(`return_restock ${id} applied ${times} times`);
  for (const [id, rma] of oracle.returns) {
    const received = oracle.returnReceived.get(id) ?? new Map();
    for (const { sku } of rma.lines) {
      const want = received.get(sku) ?? { restock: 0, damaged: 0, missing: 0 };
      const label = `return ${id.slice(-6)} of ${rma.orderName}, ${sku}`;
      for (const [side, lines] of [
        ['hub', hubLines],
        ['edge', edgeLines],
      ] as const) {
        const line = lines.find((candidate) => candidate.return_id === id && candidate.sku === sku);
        const got = line
          ? { restock: Number(line.restocked), damaged: Number(line.damaged), missing: Number(line.missing) }
          : undefined;
        if (JSON.stringify(got) !== JSON.stringify(want))
          problems.push(
            `${label}: the edge answered 201 for ${JSON.stringify(want)}, the ${side} counts ${JSON.stringify(got)}`,
          );
      }
      const events = restockedAtHub.get(`${id}/${sku}`) ?? 0;
      if (events !== want.restock + want.damaged)
        problems.push(
          `${label}: ${want.restock + want.damaged} units came back, the hub's return_restock events carry ${events}`,
        );
    }
  }
  const refunds = await hub.db
    .selectFrom('refunds as r')
    .innerJoin('orders as o', 'o.id', 'r.order_id')
    .select(['o.number', 'o.total', 'o.payment_reference', (eb) => eb.fn.sum<number>('r.amount').as('refunded')])
    .groupBy(['o.number', 'o.total', 'o.payment_reference'])
    .execute();
  for (const row of refunds) {
    const paid = row.payment_reference === null ? 0 : Number(row.total);
    if (Number(row.refunded) > paid) problems.push(`${row.number}: ${row.refunded} refunded, ${paid} paid`);
  }
  return problems;
}
