import { auditRouter } from './routers/audit.ts';
import { catalogRouter } from './routers/catalog.ts';
import { clientsRouter } from './routers/clients.ts';
import { customersRouter } from './routers/customers.ts';
import { edgesRouter } from './routers/edges.ts';
import { feedbackRouter } from './routers/feedback.ts';
import { fulfillmentOrdersRouter } from './routers/fulfillment-orders.ts';
import { holdsRouter } from './routers/holds.ts';
import { ordersRouter } from './routers/orders.ts';
import { quotasRouter } from './routers/quotas.ts';
import { returnsRouter } from './routers/returns.ts';
import { shipmentsRouter } from './routers/shipments.ts';
import { inventoryRouter } from './routers/inventory.ts';
import { staffRouter } from './routers/staff.ts';
import { supplyRouter } from './routers/supply.ts';
import { warehousesRouter } from './routers/warehouses.ts';
import { webhooksRouter } from './routers/webhooks.ts';
import { router } from './trpc.ts';

/** Every procedure by namespace: plain records, so their types carry no server context. */
const procedures = {
  catalog: catalogRouter,
  warehouses: warehousesRouter,
  inventory: inventoryRouter,
  clients: clientsRouter,
  staff: staffRouter,
  edges: edgesRouter,
  holds: holdsRouter,
  feedback: feedbackRouter,
  orders: ordersRouter,
  customers: customersRouter,
  fulfillmentOrders: fulfillmentOrdersRouter,
  quotas: quotasRouter,
  shipments: shipmentsRouter,
  returns: returnsRouter,
  webhooks: webhooksRouter,
  audit: auditRouter,
  supply: supplyRouter,
};

export const appRouter = router(procedures);

export type AppRouter = typeof appRouter;
/** The procedures alone, without the server's context type: what `@dovetail/client` publishes. */
export type AppProcedures = typeof procedures;
