import type { DeskResponse, StockCommand } from '@dovetail/edge/testing';
import {
  cancelOrder,
  cancelPurchaseOrder,
  createOrder,
  createPurchaseOrder,
  type Database,
  grantQuota,
  type OrderView,
  payOrder,
  recordRefund,
  releaseHold,
  requestQuotaReturn,
  requestReturn,
  reserveSuppliedHold,
  type Storage,
  sweepExpiredHolds,
} from '@dovetail/hub/testing';
import {
  DomainError,
  defaultReturnPolicy,
  type FulfillmentFact,
  limits,
  type ReturnDisposition,
  type StockEvent,
  supplyReference,
} from '@dovetail/shared';
import type { Prng } from './prng.ts';
import type { Action } from './schedule.ts';
import { simWarehouseId, templateMadeToOrderSku, templatePreorderCaps } from './templates.ts';
import type { World } from './world.ts';

/**
 * Issue 5's commerce racing the sync faults: on 2–3 SKUs of the simulated warehouse the hub takes
 * checkout holds (some left to expire), turns them into orders, takes payment (a fulfillment order
 * goes down the warehouse channel), cancels before and after shipping, grants and asks back in-store
 * selling rights; the edge receives, sells in store, loses units (damage, loss, low counts) and picks,
 * packs and ships the fulfillment orders it holds. Every call goes through the same service function
 * the HTTP route calls.
 *
 * Alongside, the oracle: what the schedule itself did and was answered, never read back from the
 * code under test — units lost, rights granted, units sold in store, shipments made, facts recorded.
 * `commerce-invariants.ts` holds the two sides to it.
 */
export type CommerceProfile = {
  skus: string[];
  /** No loss at all on the commerce SKUs: promises must then never exceed the units present, exactly. */
  lossless: boolean;
  /** How often commerce actions are drawn next to the sync ones. */
  weight: number;
  /** How often the edge receives stock: scarce schedules sell out, so every promise is contested. */
  receiveWeight: number;
};

export const commerceSkuPool = ['SOFA-2S', 'BED-140', 'LAMP-1'] as const;
export const storefrontClientId = 'storefront';
const customer = { email: 'sim@example.com', name: 'Sim Customer' };
const shippingAddress = {
  line1: 'Simstraat 1',
  city: 'Amsterdam',
  postalCode: '1015 CJ',
  country: 'NL',
  location: { lat: 52.37, lon: 4.89 },
};
const parcel = { weightGrams: 12_000, lengthMm: 2_000, widthMm: 900, heightMm: 800 };

export function drawCommerceProfile(prng: Prng): CommerceProfile {
  const skus: string[] = [...commerceSkuPool];
  const count = prng.int(2, 3);
  while (skus.length > count) skus.splice(prng.int(0, skus.length - 1), 1);
  return { skus, lossless: prng.chance(0.4), weight: prng.pick([0.5, 1, 1.5]), receiveWeight: prng.pick([0.3, 1, 2]) };
}

type Line = { sku: string; quantity: number };
type HoldModel = { name: string; id: string; lines: Line[]; expiresAtMs: number; released: boolean; ordered: boolean };
export type OrderModel = {
  name: string;
  id: string;
  holdId: string;
  paid: boolean;
  canceled: boolean;
  cancelRequested: boolean;
};

/** What the schedule did, per the answers it got: the oracle the invariants compare both sides to. */
export class CommerceOracle {
  /** Units of `on_hand − damaged − quality_control` the edge accepted losing (damage, lost/theft/correction, low counts). */
  readonly lost = new Map<string, number>();
  /** Selling rights the hub granted (grantQuota answered), by SKU and by grant id. */
  readonly granted = new Map<string, number>();
  readonly grantIds: Array<{ id: string; sku: string; quantity: number }> = [];
  /** Units the edge sold in store (instore_sale answered 201). */
  readonly soldInStore = new Map<string, number>();
  readonly holds: HoldModel[] = [];
  readonly orders: OrderModel[] = [];
  /** Shipments the edge made (ship answered 201), by fulfillment order. */
  readonly shipments = new Map<string, { shipmentId: string; lines: Line[] }>();
  /** Fulfillment facts the desk answered 201 with (pack, ship): each must reach the hub exactly once. */
  readonly facts: string[] = [];
  /**
   * Returns the hub authorized (what it answered), and the units the edge answered 201 for receiving,
   * per return, SKU and disposition (a replayed Idempotency-Key answer counts nothing).
   */
  readonly returns = new Map<string, { orderName: string; lines: Line[] }>();
  readonly returnReceived = new Map<string, Map<string, Record<ReturnDisposition, number>>>();
  /** Receipts sent twice with one Idempotency-Key (a retried scan) and answered as a replay. */
  returnReplays = 0;
  /** Purchase orders the hub opened (createPurchaseOrder answered). */
  readonly purchaseOrders: Array<{ id: string; sku: string; quantity: number }> = [];

  add(map: Map<string, number>, sku: string, quantity: number): void {
    map.set(sku, (map.get(sku) ?? 0) + quantity);
  }
}

export type EdgeFulfillmentRow = {
  id: string;
  order_number: string;
  status: string;
  lines: Array<{ sku: string; quantity: number; picked: number }>;
};
const working = (row: EdgeFulfillmentRow) => row.status === 'open' || row.status === 'picking';
const pickable = (row: EdgeFulfillmentRow) => working(row) && row.lines.some((line) => line.picked < line.quantity);
const packable = (row: EdgeFulfillmentRow) =>
  working(row) &&
  row.lines.every((line) => line.picked === line.quantity) &&
  row.lines.some((line) => line.quantity > 0);
const shippable = (row: EdgeFulfillmentRow) => row.status === 'packed';

export class Commerce {
  readonly oracle = new CommerceOracle();
  readonly #world: World;
  readonly profile: CommerceProfile;
  #tracking = 0;

  constructor(world: World, profile: CommerceProfile) {
    this.#world = world;
    this.profile = profile;
    world.commerceSkus = profile.skus;
    world.onAccepted = (event) => this.#accepted(event);
  }

  /** Counts what an accepted stock event on a commerce SKU did that the oracle must know. */
  #accepted(event: StockEvent): void {
    if (!this.profile.skus.includes(event.sku)) return;
    const { oracle } = this;
    switch (event.type) {
      case 'damage':
      case 'transfer_out':
      case 'ship':
        // Units gone (or unsellable) without a promise backing them. Desk ships never come this way.
        oracle.add(oracle.lost, event.sku, event.quantity);
        this.#world.counters.losses++;
        break;
      case 'adjust':
        // A write-off removes damaged units: on_hand − damaged does not move.
        if (event.delta < 0 && event.reason !== 'write_off') {
          oracle.add(oracle.lost, event.sku, -event.delta);
          this.#world.counters.losses++;
        }
        break;
      case 'count':
        if (event.delta < 0) {
          oracle.add(oracle.lost, event.sku, -event.delta);
          this.#world.counters.losses++;
        }
        break;
      case 'instore_sale':
        oracle.add(oracle.soldInStore, event.sku, event.quantity);
        this.#world.counters.instoreSales++;
        break;
      default:
        break;
    }
  }

  /** The commerce actions possible now, weighted by the profile. */
  actions(): Action[] {
    const world = this.#world;
    const w = this.profile.weight;
    const actions: Action[] = [];
    if (world.hub) {
      actions.push(['hold', 3 * w, () => this.hold()]);
      if (this.oracle.holds.some((hold) => !hold.ordered && !hold.released))
        actions.push(['order from hold', 2 * w, () => this.orderFromHold()]);
      actions.push(['order from lines', 0.7 * w, async () => void (await this.orderFromLines())]);
      if (this.oracle.orders.some((order) => !order.paid && !order.canceled))
        actions.push(['pay', 3 * w, () => this.pay()]);
      if (this.oracle.holds.length > 0) actions.push(['release hold', 0.7 * w, () => this.release()]);
      if (this.oracle.orders.length > 0) actions.push(['cancel order', 1.2 * w, () => this.cancel()]);
      actions.push(['grant quota', 1.5 * w, () => this.grant()]);
      actions.push(['ask quota back', 0.6 * w, () => this.askBack()]);
      actions.push(['sweep holds', 0.2 * w, () => this.sweep()]);
      // Purchase orders raise incoming, which holds of pre-orderable SKUs may be promised against.
      if (this.profile.skus.some((sku) => templatePreorderCaps[sku]))
        actions.push(['open purchase order', 0.8 * w, () => this.openPurchaseOrder()]);
      if (this.oracle.purchaseOrders.length > 0)
        actions.push(['cancel purchase order', 0.2 * w, () => this.cancelPurchaseOrder()]);
      // A made-to-order line needs no stock: paid, it becomes a production request at the warehouse.
      actions.push([
        'order made to order',
        0.5 * w,
        async () => void (await this.orderFromLines([{ sku: templateMadeToOrderSku, quantity: this.#quantity() }])),
      ]);
    }
    if (world.hub) {
      // Returns (docs/returns.md): asked for once a shipment reached the hub, refunds recorded against payments.
      // Shipments are rare in a schedule: once one was made, asking for its return is likely.
      if (this.oracle.shipments.size > 0)
        actions.push(['request return', 2 * w, async () => void (await this.requestReturn())]);
      if (this.oracle.orders.some((order) => order.paid)) actions.push(['record refund', 0.4 * w, () => this.refund()]);
    }
    if (world.edge && this.oracle.returns.size > 0) {
      const edge = world.edge;
      const expected = [...this.oracle.returns.keys()].some((id) => edge.returns.view(id)?.status === 'expected');
      actions.push(['receive return', (expected ? 3 : 0.2) * w, async () => void (await this.receiveReturn())]);
    }
    actions.push(['time passes', 0.6 * w, () => this.timePasses()]);
    if (world.edge) {
      actions.push(['receive', this.profile.receiveWeight * w, () => this.receive()]);
      if (this.oracle.purchaseOrders.length > 0)
        actions.push(['receive against a purchase order', 1.5 * w, () => this.receivePurchase()]);
      if (this.openProduction().length > 0)
        actions.push(['receive finished units', 1.5 * w, () => this.receiveProduction()]);
      if (!this.profile.lossless) actions.push(['lose units', 0.8 * w, () => this.lose()]);
      actions.push(['sell in store', 1.5 * w, () => this.sellInStore()]);
      actions.push([
        'return quota at the edge',
        0.3 * w,
        () => this.#edgeWrite([{ type: 'quota_return', sku: this.#sku(), quantity: 1 }]),
      ]);
      // Staff work whatever the pick list offers (and now and then scan against an order that moved on).
      const fulfillments = this.edgeFulfillments();
      if (fulfillments.length > 0) {
        actions.push(['pick', (fulfillments.some(pickable) ? 3 : 0.2) * w, () => this.pick(fulfillments)]);
        actions.push(['pack', (fulfillments.some(packable) ? 3 : 0.2) * w, () => this.pack(fulfillments)]);
        actions.push(['ship', (fulfillments.some(shippable) ? 3 : 0.2) * w, () => this.ship(fulfillments)]);
      }
    }
    return actions;
  }

  #sku(): string {
    return this.#world.prng.pick(this.profile.skus);
  }

  #quantity(): number {
    return this.#world.prng.int(1, 3);
  }

  // ---- hub ------------------------------------------------------------------------------------

  /** Runs one hub call: a 4xx is an answer (refused), anything else thrown is a broken invariant. */
  async #hub(what: string, run: (hub: Storage<Database>) => Promise<string>): Promise<boolean> {
    const world = this.#world;
    const hub = world.hub;
    if (!hub) return false;
    try {
      world.log(`hub: ${what} → ${await run(hub)}`);
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.status < 500) {
        world.log(`hub: ${what} → ${error.status} ${error.code}`);
        if (what.startsWith('hold')) world.counters.holdsRefused++;
        if (what.startsWith('grant')) world.counters.grantsRefused++;
        return false;
      }
      world.violation(`hub ${what} threw: ${(error as Error).stack ?? error}`);
      return false;
    }
  }

  /** The hub appended to the warehouse channel: the notifier wakes the senders (or the wake-up is lost). */
  async #wake(): Promise<void> {
    const world = this.#world;
    if (world.prng.chance(world.lostWakeRate)) {
      world.log('  the wake-up is lost: only the slow poll finds this change');
      return;
    }
    await world.wakeAll(`warehouse:${simWarehouseId}`);
  }

  #lines(): Line[] {
    const first = this.#sku();
    const lines = [{ sku: first, quantity: this.#quantity() }];
    const other = this.profile.skus.find((sku) => sku !== first);
    if (other !== undefined && this.#world.prng.chance(0.25))
      lines.push({ sku: other, quantity: this.#world.prng.int(1, 2) });
    return lines;
  }

  #describe(lines: Line[]): string {
    return lines.map((line) => `${line.sku}×${line.quantity}`).join('+');
  }

  // Short holds expire within a few "time passes"; long ones outlive the schedule.
  async hold(lines = this.#lines(), ttlSeconds = this.#world.prng.pick([10, 30, 900])): Promise<void> {
    const world = this.#world;
    const name = `h${this.oracle.holds.length + 1}`;
    await this.#hub(`hold ${name} ${this.#describe(lines)} ttl ${ttlSeconds}s`, async (hub) => {
      // Pre-orderable SKUs take what is on the shelf, then incoming up to their cap (docs/catalog.md).
      const view = await reserveSuppliedHold(
        hub.db,
        'sqlite',
        { lines, ttlSeconds, warehouseId: simWarehouseId },
        { clientId: storefrontClientId, nowMs: world.nowMs },
      );
      this.oracle.holds.push({
        name,
        id: view.id,
        lines,
        expiresAtMs: Date.parse(view.expiresAt),
        released: false,
        ordered: false,
      });
      world.counters.holds++;
      return 'held';
    });
  }

  #recordOrder(view: OrderView, hold?: HoldModel): string {
    const name = view.number;
    this.oracle.orders.push({
      name,
      id: view.id,
      holdId: view.holdId,
      paid: false,
      canceled: false,
      cancelRequested: false,
    });
    if (hold) hold.ordered = true;
    return `${name} ${view.status}`;
  }

  async orderFromHold(): Promise<void> {
    const world = this.#world;
    const hold = world.prng.pick(this.oracle.holds.filter((candidate) => !candidate.ordered && !candidate.released));
    await this.#hub(`order from ${hold.name}`, async (hub) => {
      const view = await createOrder(
        hub.db,
        'sqlite',
        { holdId: hold.id, customer, shippingAddress },
        { clientId: storefrontClientId, nowMs: world.nowMs },
      );
      return this.#recordOrder(view, hold);
    });
  }

  async orderFromLines(lines = this.#lines()): Promise<OrderModel | undefined> {
    const world = this.#world;
    const before = this.oracle.orders.length;
    await this.#hub(`order ${this.#describe(lines)}`, async (hub) => {
      const view = await createOrder(
        hub.db,
        'sqlite',
        { lines, customer, shippingAddress },
        { clientId: storefrontClientId, nowMs: world.nowMs },
      );
      // The hold the hub took for it (default TTL) is the order's: it is never released on its own.
      this.oracle.holds.push({
        name: `h${this.oracle.holds.length + 1}`,
        id: view.holdId,
        lines,
        expiresAtMs: Date.parse(view.expiresAt),
        released: false,
        ordered: true,
      });
      return this.#recordOrder(view);
    });
    return this.oracle.orders[before];
  }

  async pay(
    order = this.#world.prng.pick(this.oracle.orders.filter((candidate) => !candidate.paid && !candidate.canceled)),
  ): Promise<void> {
    const world = this.#world;
    const paid = await this.#hub(`pay ${order.name}`, async (hub) => {
      const view = await payOrder(hub.db, 'sqlite', order.id, `psp-${order.name}`, storefrontClientId, world.nowMs);
      order.paid = true;
      world.counters.paid++;
      return view.status;
    });
    if (paid) await this.#wake();
  }

  async release(): Promise<void> {
    const world = this.#world;
    const hold = world.prng.pick(this.oracle.holds);
    await this.#hub(`release ${hold.name}`, async (hub) => {
      const view = await releaseHold(hub.db, 'sqlite', hold.id, storefrontClientId, world.nowMs);
      hold.released = true;
      return view.status;
    });
  }

  async cancel(order = this.#world.prng.pick(this.oracle.orders)): Promise<void> {
    const world = this.#world;
    const canceled = await this.#hub(`cancel ${order.name}`, async (hub) => {
      const view = await cancelOrder(
        hub.db,
        'sqlite',
        order.id,
        'customer changed their mind',
        storefrontClientId,
        world.nowMs,
      );
      if (order.paid) {
        order.cancelRequested = true;
        world.counters.cancelRequests++;
      } else {
        // Unpaid: canceled at once and its hold released.
        order.canceled = true;
        const hold = this.oracle.holds.find((candidate) => candidate.id === order.holdId);
        if (hold) hold.released = true;
      }
      return view.status;
    });
    if (canceled && order.paid) await this.#wake();
  }

  async grant(sku = this.#sku(), quantity = this.#quantity()): Promise<void> {
    const world = this.#world;
    const granted = await this.#hub(`grant ${sku}×${quantity}`, async (hub) => {
      const move = await grantQuota(
        hub.db,
        'sqlite',
        { warehouseId: simWarehouseId, sku, quantity },
        'sim-ops',
        world.nowMs,
      );
      this.oracle.add(this.oracle.granted, sku, quantity);
      this.oracle.grantIds.push({ id: move.id, sku, quantity });
      world.counters.grants++;
      return 'granted';
    });
    if (granted) await this.#wake();
  }

  async askBack(sku = this.#sku(), quantity = this.#quantity()): Promise<void> {
    const world = this.#world;
    const asked = await this.#hub(`ask ${sku}×${quantity} of quota back`, async (hub) => {
      await requestQuotaReturn(hub.db, { warehouseId: simWarehouseId, sku, quantity }, 'sim-ops', world.nowMs);
      return 'asked';
    });
    if (asked) await this.#wake();
  }

  async sweep(): Promise<void> {
    const world = this.#world;
    await this.#hub(
      'sweep expired holds',
      async (hub) => `${await sweepExpiredHolds(hub.db, 'sqlite', world.nowMs)} partitions`,
    );
  }

  /** A purchase order for a pre-orderable SKU, expected within days (the hub raises its incoming). */
  async openPurchaseOrder(): Promise<void> {
    const world = this.#world;
    const preorderable = this.profile.skus.filter((sku) => templatePreorderCaps[sku]);
    if (preorderable.length === 0) return;
    const sku = world.prng.pick(preorderable);
    const quantity = world.prng.int(1, 5);
    const opened = await this.#hub(`open purchase order ${sku}×${quantity}`, async (hub) => {
      const view = await createPurchaseOrder(
        hub.db,
        'sqlite',
        {
          warehouseId: simWarehouseId,
          expectedAt: new Date(world.nowMs + world.prng.int(1, 10) * 86_400_000).toISOString(),
          lines: [{ sku, quantity }],
        },
        world.nowMs,
      );
      this.oracle.purchaseOrders.push({ id: view.id, sku, quantity });
      return view.status;
    });
    if (opened) await this.#wake();
  }

  /** Cancels a purchase order: refused while pre-orders are promised against it. */
  async cancelPurchaseOrder(): Promise<void> {
    const world = this.#world;
    const order = world.prng.pick(this.oracle.purchaseOrders);
    const canceled = await this.#hub(`cancel purchase order ${order.sku}×${order.quantity}`, async (hub) => {
      const view = await cancelPurchaseOrder(hub.db, 'sqlite', order.id, world.nowMs);
      return view.status;
    });
    if (canceled) await this.#wake();
  }

  /**
   * Staff receive against a purchase order the edge has heard of (a receive scan naming it), now
   * and then more than it still expects; one the edge has not heard of yet is a plain receive.
   */
  receivePurchase(): Promise<void> {
    const world = this.#world;
    const order = world.prng.pick(this.oracle.purchaseOrders);
    const quantity = world.prng.chance(0.15) ? order.quantity + 1 : world.prng.int(1, order.quantity);
    world.log(`edge: receive ${order.sku}×${quantity} against a purchase order`);
    return this.#edgeWrite([
      { type: 'receive', sku: order.sku, quantity, reference: supplyReference('purchase_order', order.id) },
    ]);
  }

  /** Production requests the edge has heard of and still expects units for, in the order it heard of them. */
  openProduction(): Array<{ id: string; sku: string; quantity: number }> {
    const edge = this.#world.edge;
    if (!edge) return [];
    return edge.db
      .prepare<[], { id: string; sku: string; quantity: number }>(
        `SELECT r.id, l.sku, l.quantity FROM supply_request r JOIN supply_line l ON l.request_id = r.id
         WHERE r.kind = 'production' AND r.status = 'open' ORDER BY r.rowid`,
      )
      .all();
  }

  /** Staff receive the finished units of a production request (all, or one short now and then). */
  receiveProduction(): Promise<void> {
    const world = this.#world;
    const request = world.prng.pick(this.openProduction());
    const quantity = request.quantity > 1 && world.prng.chance(0.3) ? request.quantity - 1 : request.quantity;
    world.log(`edge: receive ${request.sku}×${quantity} against a production request`);
    return this.#edgeWrite([
      { type: 'receive', sku: request.sku, quantity, reference: supplyReference('production', request.id) },
    ]);
  }

  /** Asks for a return of some of what a shipped order's shipments carried (the hub checks the rest). */
  async requestReturn(choice?: { order: OrderModel; sku: string; quantity: number }): Promise<string | undefined> {
    const world = this.#world;
    const hub = world.hub;
    if (!hub) return undefined;
    let order = choice?.order;
    let sku = choice?.sku;
    let quantity = choice?.quantity ?? 0;
    if (!order || !sku) {
      const shipped = await hub.db
        .selectFrom('shipments')
        .select(['order_id', 'lines_json'])
        .where('order_id', 'in', this.oracle.orders.length > 0 ? this.oracle.orders.map((row) => row.id) : [''])
        .orderBy('id')
        .execute();
      if (shipped.length === 0) return undefined;
      const shipment = world.prng.pick(shipped);
      order = this.oracle.orders.find((candidate) => candidate.id === shipment.order_id);
      const line = world.prng.pick(JSON.parse(shipment.lines_json) as Line[]);
      if (!order || !line) return undefined;
      sku = line.sku;
      // Now and then more than shipped: the hub must refuse it (409 exceeds_returnable).
      quantity = world.prng.chance(0.1) ? line.quantity + 1 : world.prng.int(1, line.quantity);
    }
    const returned = order;
    const lines = [{ sku, quantity, reason: 'changed_mind' as const }];
    let id: string | undefined;
    const authorized = await this.#hub(`return ${sku}×${quantity} of ${returned.name}`, async (db) => {
      const view = await requestReturn(
        db.db,
        'sqlite',
        returned.id,
        { lines },
        storefrontClientId,
        { ...defaultReturnPolicy, autoAuthorizeValueMax: limits.moneyMinorUnitsMax },
        world.nowMs,
      );
      if (view.status !== 'authorized') world.violation(`return ${view.number} is ${view.status}, not authorized`);
      this.oracle.returns.set(view.id, { orderName: returned.name, lines: [{ sku, quantity }] });
      world.counters.returns++;
      id = view.id;
      return `${view.number} ${view.status}`;
    });
    if (authorized) await this.#wake();
    return id;
  }

  /**
   * Staff receive an expected return at the edge: some of each line, each with a disposition, now
   * and then more than still expected (409) or sent twice with one Idempotency-Key (a replay). The
   * crash points after edge work apply: the edge may be SIGKILLed right after the receipt committed.
   */
  async receiveReturn(choice?: {
    id: string;
    lines: Array<{ sku: string; quantity: number; disposition: ReturnDisposition }>;
    times: number;
  }): Promise<number | undefined> {
    const world = this.#world;
    const edge = world.edge;
    if (!edge) return undefined;
    const expected = [...this.oracle.returns.keys()].filter((id) => edge.returns.view(id)?.status === 'expected');
    const id = choice?.id ?? (expected.length > 0 ? world.prng.pick(expected) : undefined);
    const view = id === undefined ? undefined : edge.returns.view(id);
    if (!id || !view) return undefined;
    const lines =
      choice?.lines ??
      view.lines
        .filter((line) => line.expected > 0)
        .map((line) => ({
          sku: line.sku,
          quantity: world.prng.chance(0.1) ? line.expected + 1 : world.prng.int(1, line.expected),
          disposition: world.prng.weighted([
            ['restock', 3],
            ['damaged', 1],
            ['missing', 1],
          ] as const),
        }));
    if (lines.length === 0) return undefined;
    const key = { scope: 'sim-receiver', key: `rma-${id}-${world.prng.int(0, 1_000_000_000)}` };
    const times = choice?.times ?? (world.prng.chance(0.3) ? 2 : 1);
    let first: number | undefined;
    for (let attempt = 0; attempt < times; attempt++) {
      let answer: ReturnType<typeof edge.returns.receive>;
      try {
        answer = edge.returns.receive(id, { lines }, 'receiver', world.nowMs, key);
      } catch (error) {
        world.violation(`the return desk threw on ${view.number}: ${(error as Error).stack ?? error}`);
        return;
      }
      const code = answer.status >= 400 ? ` ${(answer.body as { error?: { code?: string } }).error?.code}` : '';
      world.log(
        `edge: receive ${JSON.stringify(lines)} of ${view.number} → ${answer.status}${code}${answer.replayed ? ' (replay)' : ''}`,
      );
      if (answer.status >= 500) world.violation(`the return desk answered ${answer.status}`);
      if (attempt > 0 && !answer.replayed) world.violation(`a receipt sent again with its key was not replayed`);
      if (answer.status === 201 && !answer.replayed) {
        const bySku = this.oracle.returnReceived.get(id) ?? new Map<string, Record<ReturnDisposition, number>>();
        for (const line of lines) {
          const counts = bySku.get(line.sku) ?? { restock: 0, damaged: 0, missing: 0 };
          counts[line.disposition] += line.quantity;
          bySku.set(line.sku, counts);
        }
        this.oracle.returnReceived.set(id, bySku);
        world.counters.returnReceipts++;
      }
      if (answer.replayed) this.oracle.returnReplays++;
      first ??= answer.status;
    }
    await world.afterEdgeWork();
    return first;
  }

  /** Records a refund of part of a paid order (sometimes more than is left: 409 refund_exceeds_payment). */
  async refund(
    order = this.#world.prng.pick(this.oracle.orders.filter((candidate) => candidate.paid)),
    amount = this.#world.prng.int(1, 50_000),
  ): Promise<void> {
    const world = this.#world;
    await this.#hub(`refund ${amount} of ${order.name}`, async (hub) => {
      const recorded = await recordRefund(
        hub.db,
        'sqlite',
        order.id,
        { amount, currency: 'EUR', reference: `re-${world.prng.int(0, 1_000_000_000)}` },
        storefrontClientId,
        'sim-psp',
        world.nowMs,
      );
      return `${recorded.refund.refundedTotal} of ${recorded.refund.paid} refunded`;
    });
  }

  timePasses(): void {
    const world = this.#world;
    const ms = world.prng.int(2_000, 20_000);
    world.nowMs += ms;
    world.log(`time passes: ${ms} ms`);
  }

  // ---- edge -----------------------------------------------------------------------------------

  async #edgeWrite(commands: StockCommand[]): Promise<void> {
    await this.#world.write(commands);
  }

  receive(): Promise<void> {
    return this.#edgeWrite([{ type: 'receive', sku: this.#sku(), quantity: this.#world.prng.int(1, 4) }]);
  }

  /** Physical loss, recorded: damage, a loss adjustment, or a count below what the edge holds. */
  lose(): Promise<void> {
    const world = this.#world;
    const sku = this.#sku();
    const kind = world.prng.weighted([
      ['damage', 2],
      ['lost', 1],
      ['count', 1],
    ] as const);
    if (kind === 'damage') return this.#edgeWrite([{ type: 'damage', sku, quantity: world.prng.int(1, 2) }]);
    if (kind === 'lost')
      return this.#edgeWrite([
        { type: 'adjust', sku, delta: -world.prng.int(1, 2), reason: world.prng.pick(['lost', 'theft'] as const) },
      ]);
    const onHand = world.edge?.book.read(sku).state.onHand ?? 0;
    return this.#edgeWrite([{ type: 'count', sku, countedQuantity: Math.max(0, onHand - world.prng.int(1, 2)) }]);
  }

  /** One or two tills at once (one group commit): each sale spends in-store rights. */
  sellInStore(): Promise<void> {
    const world = this.#world;
    return this.#edgeWrite(
      Array.from({ length: world.prng.int(1, 2) }, () => ({
        type: 'instore_sale' as const,
        sku: this.#sku(),
        quantity: world.prng.int(1, 2),
      })),
    );
  }

  /** The fulfillment orders the edge holds, in order-number order (ids are random; numbers are not). */
  edgeFulfillments(): EdgeFulfillmentRow[] {
    const db = this.#world.edge?.db;
    if (!db) return [];
    const orders = db
      .prepare<[], { id: string; order_number: string; status: string }>(
        'SELECT id, order_number, status FROM fulfillment_order',
      )
      .all();
    const lines = db.prepare<[string], { sku: string; quantity: number; picked: number }>(
      'SELECT sku, quantity, picked FROM fulfillment_line WHERE fulfillment_id = ? ORDER BY sku',
    );
    return orders
      .sort((a, b) => (a.order_number < b.order_number ? -1 : a.order_number > b.order_number ? 1 : 0))
      .map((row) => ({ ...row, lines: lines.all(row.id) }));
  }

  /** Staff work the pick list; now and then someone scans against an order that moved on (a refusal). */
  #choose(fulfillments: EdgeFulfillmentRow[], fits: (row: EdgeFulfillmentRow) => boolean): EdgeFulfillmentRow {
    const { prng } = this.#world;
    const fitting = fulfillments.filter(fits);
    return fitting.length > 0 && !prng.chance(0.1) ? prng.pick(fitting) : prng.pick(fulfillments);
  }

  async #desk(what: string, row: EdgeFulfillmentRow, run: () => DeskResponse): Promise<DeskResponse | undefined> {
    const world = this.#world;
    if (!world.edge) return undefined;
    let response: DeskResponse;
    try {
      response = run();
    } catch (error) {
      world.violation(`the desk threw on ${what} ${row.order_number}: ${(error as Error).stack ?? error}`);
      return undefined;
    }
    const code = response.status >= 400 ? ` ${(response.body as { error?: { code?: string } }).error?.code}` : '';
    world.log(`edge: ${what} ${row.order_number} (${row.status}) → ${response.status}${code}`);
    if (response.status >= 500)
      world.violation(
        `the desk answered ${what} with ${response.status}: ${JSON.stringify(response.body).slice(0, 200)}`,
      );
    await world.afterEdgeWork();
    return response;
  }

  async pick(fulfillments: EdgeFulfillmentRow[]): Promise<void> {
    const row = this.#choose(fulfillments, pickable);
    const line = row.lines.find((candidate) => candidate.picked < candidate.quantity) ?? row.lines[0];
    if (!line) return;
    const left = Math.max(1, line.quantity - line.picked);
    await this.pickAt(row, line.sku, this.#world.prng.chance(0.85) ? left : 1);
  }

  async pickAt(row: EdgeFulfillmentRow, sku: string, quantity: number): Promise<DeskResponse | undefined> {
    const world = this.#world;
    const response = await this.#desk(`pick ${sku}×${quantity} for`, row, () =>
      world.edge!.desk.pick(row.id, { sku, quantity }, 'picker', world.nowMs),
    );
    if (response?.status !== 201) return response;
    world.acknowledged.push((response.body as { event: StockEvent }).event.id);
    world.counters.picks++;
    return response;
  }

  async pack(fulfillments: EdgeFulfillmentRow[]): Promise<void> {
    await this.packAt(this.#choose(fulfillments, packable));
  }

  async packAt(row: EdgeFulfillmentRow): Promise<DeskResponse | undefined> {
    const world = this.#world;
    const response = await this.#desk('pack', row, () =>
      world.edge!.desk.pack(row.id, { packages: [parcel] }, 'packer', world.nowMs),
    );
    if (response?.status !== 201) return response;
    this.oracle.facts.push((response.body as { fact: FulfillmentFact }).fact.id);
    world.counters.packs++;
    return response;
  }

  async ship(fulfillments: EdgeFulfillmentRow[]): Promise<void> {
    await this.shipAt(this.#choose(fulfillments, shippable));
  }

  async shipAt(row: EdgeFulfillmentRow): Promise<DeskResponse | undefined> {
    const world = this.#world;
    const trackingNumber = `SIM${++this.#tracking}`;
    const response = await this.#desk('ship', row, () =>
      world.edge!.desk.ship(row.id, { carrier: 'DHL', trackingNumber }, 'shipper', world.nowMs),
    );
    if (response?.status !== 201) return response;
    const fact = (response.body as { fact: Extract<FulfillmentFact, { type: 'fulfillment_shipped' }> }).fact;
    this.oracle.facts.push(fact.id);
    this.oracle.shipments.set(row.id, { shipmentId: fact.shipmentId, lines: fact.lines });
    world.counters.shipments++;
    return response;
  }
}
