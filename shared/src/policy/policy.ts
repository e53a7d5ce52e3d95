/**
 * The permission policy: one table, applied at every entry (edge REST, hub REST, tRPC, the sync
 * socket). A route names the permission it needs; the shell asks `authorize` and never decides alone.
 */
export const roles = [
  'admin',
  'supervisor',
  'warehouse_staff',
  'customer_service',
  'customer',
  '3pl',
  'storefront',
  'edge',
  /** A carrier (or its aggregator) reporting tracking scans for its own shipments. */
  'carrier',
] as const;
export type Role = (typeof roles)[number];

/**
 * Roles that see every record whoever it belongs to: every client's orders, holds and shipments, at
 * every warehouse. Admins act on them; customer service only reads (the table below gives it no
 * writes but customers' privacy requests). Every other role sees its own: a storefront the orders
 * it placed, staff their warehouses'.
 */
const rolesSeeingEveryRecord: ReadonlySet<Role> = new Set(['admin', 'customer_service']);

export function seesEveryRecord(role: Role): boolean {
  return rolesSeeingEveryRecord.has(role);
}

/** Roles people hold at an edge (signed in on the warehouse LAN). */
export const edgeStaffRoles = ['supervisor', 'warehouse_staff'] as const satisfies readonly Role[];
export type EdgeStaffRole = (typeof edgeStaffRoles)[number];

/**
 * Which roles hold each permission, and whether the permission is scoped to the principal's
 * warehouses. Adding a route means adding its permission here; the matrix tests walk this table.
 */
export const permissions = {
  /** Read stock partitions and their ledgers. */
  'stock.read': { roles: ['admin', 'supervisor', 'warehouse_staff', 'customer_service', '3pl'], scoped: true },
  /** Record physical movements: receive, count, damage, move, transfers, returns, picks, shipments. */
  'stock.record': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** Free-form corrections that change on-hand without a physical movement: supervisors only. */
  'stock.adjust': { roles: ['admin', 'supervisor'], scoped: true },
  /** Sell in store out of the edge's escrow quota. */
  'stock.instore_sale': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** See the warehouse's fulfillment orders (the pick list). */
  'fulfillments.read': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** Pick, pack and ship the warehouse's fulfillment orders. */
  'fulfillments.fulfill': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** Add, disable and list local staff accounts at an edge. */
  'staff.manage': { roles: ['admin', 'supervisor'], scoped: true },
  /** See the sync state of an edge. */
  'sync.read': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** Speak the sync protocol as an edge. */
  'sync.connect': { roles: ['edge'], scoped: true },
  /** Read the catalog: products, variants, prices. */
  'catalog.read': {
    roles: ['admin', 'supervisor', 'warehouse_staff', 'customer_service', 'customer', '3pl', 'storefront'],
    scoped: false,
  },
  /** Create, replace and archive products. */
  'catalog.write': { roles: ['admin'], scoped: false },
  /** List warehouses and read their configuration; scoped principals see their own. */
  'warehouses.read': {
    roles: ['admin', 'supervisor', 'warehouse_staff', 'customer_service', '3pl', 'storefront'],
    scoped: true,
  },
  /** Create and configure warehouses. */
  'warehouses.write': { roles: ['admin'], scoped: false },
  /** Enroll (or re-enroll) the edge of a warehouse, minting its machine credentials. */
  'edges.enroll': { roles: ['admin'], scoped: false },
  /** Operations' view of the edges: link state and upstream lag; scoped principals see their own. */
  'edges.read': { roles: ['admin', 'supervisor', 'customer_service'], scoped: true },
  /** The hub's stock view across warehouses; scoped principals see their warehouses only. */
  'inventory.read': {
    roles: ['admin', 'supervisor', 'warehouse_staff', 'customer_service', '3pl', 'storefront'],
    scoped: true,
  },
  /** Take and release checkout holds (the storefront; admins on a shopper's behalf). */
  'inventory.reserve': { roles: ['admin', 'storefront'], scoped: false },
  /** Place orders (the storefront; admins on a customer's behalf). */
  'orders.create': { roles: ['admin', 'storefront'], scoped: false },
  /** Read orders: the storefront its own, admins and customer service all. */
  'orders.read': { roles: ['admin', 'storefront', 'customer_service'], scoped: false },
  /** Confirm an order's payment. */
  'orders.pay': { roles: ['admin', 'storefront'], scoped: false },
  /** Change an order's whitelisted fields (addresses, customer name or phone, note). */
  'orders.update': { roles: ['admin', 'storefront'], scoped: false },
  /** Staff transitions the hub owns: delivered, return requested, returned. */
  'orders.manage': { roles: ['admin'], scoped: false },
  /** Cancel an order (at once when unpaid, by request to the warehouses when paid). */
  'orders.cancel': { roles: ['admin', 'storefront'], scoped: false },
  /** Ask for a return of shipped units (the storefront for its own orders). */
  'returns.request': { roles: ['admin', 'storefront', 'customer_service'], scoped: false },
  /** Read returns: the storefront its own orders', warehouse staff their warehouse's (at the edge). */
  'returns.read': {
    roles: ['admin', 'storefront', 'customer_service', 'supervisor', 'warehouse_staff'],
    scoped: true,
  },
  /** Authorize or reject a return an agent must decide. */
  'returns.manage': { roles: ['admin', 'customer_service'], scoped: false },
  /** Withdraw a return before anything arrived (the storefront its own orders'; agents any). */
  'returns.cancel': { roles: ['admin', 'customer_service', 'storefront'], scoped: false },
  /** Report that a return's parcel is on its way back (a carrier's scan, or an agent). */
  'returns.track': { roles: ['admin', 'customer_service', 'carrier'], scoped: false },
  /** Ask for an exchange: a return and a replacement held until it arrives (the storefront its own orders'). */
  'exchanges.request': { roles: ['admin', 'storefront', 'customer_service'], scoped: false },
  /** Ship an exchange's replacement before the return arrives ("advance exchange"), overriding policy. */
  'exchanges.advance': { roles: ['admin', 'customer_service'], scoped: false },
  /** Receive returned units at the warehouse, each restocked, damaged or missing. */
  'returns.receive': { roles: ['admin', 'supervisor', 'warehouse_staff'], scoped: true },
  /** Record a refund the payment system made (Dovetail moves no money). */
  'refunds.record': { roles: ['admin', 'storefront'], scoped: false },
  /** Set in-store quota policies, grant quotas and ask them back. */
  'quotas.manage': { roles: ['admin'], scoped: false },
  /** See the hub's fulfillment orders (lines, ship-to, status, shipments); scoped to the principal's warehouses. */
  'fulfillment_orders.read': { roles: ['admin', '3pl', 'customer_service'], scoped: true },
  /** Answer, ship and answer cancel requests of the fulfillment orders of a warehouse with no edge (3PL). */
  'fulfillment_orders.fulfill': { roles: ['admin', '3pl'], scoped: true },
  /** Write stock of a warehouse that has no edge (3PL, dropshipper). */
  'inventory.write': { roles: ['admin', '3pl'], scoped: true },
  /**
   * Register and manage webhook endpoints and see their deliveries: admins any endpoint and event, a
   * 3PL its own endpoints and its warehouses' events, a storefront its own endpoints and orders' events.
   */
  'webhooks.manage': { roles: ['admin', '3pl', 'storefront'], scoped: true },
  /** Report carrier tracking scans: carriers for their own shipments, 3PLs for their warehouses'. */
  'shipments.track': { roles: ['admin', '3pl', 'carrier'], scoped: true },
  /** Record a shipment made outside an edge or 3PL flow. */
  'shipments.create': { roles: ['admin'], scoped: false },
  /** Read shipments and an order's tracking: the storefront its own orders'. */
  'shipments.read': { roles: ['admin', 'customer_service', 'storefront'], scoped: false },
  /** Read customers' feedback after delivery, with its summary per warehouse and carrier. */
  'feedback.read': { roles: ['admin', 'customer_service'], scoped: false },
  /** Privacy requests: export all held about a customer, erase their personal data (docs/operations.md). */
  'customers.privacy': { roles: ['admin', 'customer_service'], scoped: false },
  /** Enrol one's own MFA (hub staff; docs/operations.md, "Staff MFA"): the only scope of an admin's enrol-only token. */
  'staff.mfa': { roles: ['admin', 'supervisor', 'warehouse_staff', 'customer_service'], scoped: false },
  /** Open and cancel purchase orders (incoming stock that pre-orders may be promised against). */
  'supply.manage': { roles: ['admin'], scoped: false },
  /** Read purchase orders and production requests. */
  'supply.read': { roles: ['admin', 'customer_service'], scoped: false },
  /** Create, list and revoke API clients; rotate the token signing key. */
  'clients.manage': { roles: ['admin'], scoped: false },
  /** Read the audit trail: privileged actions and refused sign-ins (docs/operations.md). */
  'audit.read': { roles: ['admin'], scoped: false },
} as const satisfies Record<string, { roles: readonly Role[]; scoped: boolean }>;
export type Permission = keyof typeof permissions;

export type Principal = {
  subject: string;
  role: Role;
  /** Warehouses the principal may act on; `'*'` for unscoped principals such as admins. */
  warehouses: readonly string[] | '*';
};

export type AuthorizationResult =
  | { ok: true }
  | { ok: false; reason: 'insufficient_role' | 'outside_warehouse_scope'; message: string };

export function authorize(principal: Principal, permission: Permission, warehouseId?: string): AuthorizationResult {
  const rule = permissions[permission];
  if (!(rule.roles as readonly Role[]).includes(principal.role)) {
    return { ok: false, reason: 'insufficient_role', message: `role ${principal.role} may not ${permission}` };
  }
  if (
    rule.scoped &&
    warehouseId !== undefined &&
    principal.warehouses !== '*' &&
    !principal.warehouses.includes(warehouseId)
  ) {
    return { ok: false, reason: 'outside_warehouse_scope', message: `not permitted for warehouse ${warehouseId}` };
  }
  return { ok: true };
}
