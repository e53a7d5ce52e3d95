import { badRequest, DomainError, limits, skuSchema } from '@dovetail/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { CatalogReader } from '../../services/catalog.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { queryParams } from '../validate.ts';

const skusSchema = z.array(skuSchema).min(1).max(limits.pageSizeMax);
const lookupQuerySchema = z.strictObject({ code: z.string().min(1).max(100) });

/**
 * `GET /catalog?sku=A&sku=B`: product names for SKUs, so screens say "Oslo sofa grey", not a code.
 * `GET /catalog/lookup?code=`: the product a scanned SKU or GTIN stands for; 404 when none.
 */
export function catalogRoutes(deps: { catalog: CatalogReader; warehouseId: string }) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/catalog', (c) => {
    permit(c.get('session').principal, 'stock.read', deps.warehouseId);
    const skus = c.req.queries('sku') ?? [];
    const query = skusSchema.safeParse(skus);
    if (!query.success) {
      throw badRequest('invalid_input', `give 1 to ${limits.pageSizeMax} valid sku parameters`, { path: 'sku' });
    }
    return c.json({ items: deps.catalog.bySkus([...new Set(query.data)]) });
  });
  app.get('/catalog/lookup', (c) => {
    permit(c.get('session').principal, 'stock.read', deps.warehouseId);
    const { code } = queryParams(c, lookupQuerySchema);
    const entry = deps.catalog.lookup(code.trim());
    if (!entry) {
      throw new DomainError('not_found', 'unknown_code', `${code} is not a product in this warehouse's catalog`);
    }
    return c.json(entry);
  });
  return app;
}
