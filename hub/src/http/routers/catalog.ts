import {
  limits,
  productCategories,
  productCreateSchema,
  productSchema,
  productUpdateSchema,
  warehouseIdSchema,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { createProduct, getProduct, listProducts, updateProduct } from '../../catalog/service.ts';
import { contentEtag } from '../conditional.ts';
import { ApiError } from '../errors.ts';
import { cursorParam, idParam, pageLimit } from '../params.ts';
import { type Context, idempotencyHeaders, protectedProcedure } from '../trpc.ts';

const tags = ['catalog'];

export function etagFor(version: number): string {
  return `"${version}"`;
}

/** Accepts `"3"`, `W/"3"` and `3`; `*` matches whatever version is current. */
export function versionFromIfMatch(header: string): number | '*' | undefined {
  const value = header.trim();
  if (value === '*') return '*';
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(value);
  return match?.[1] ? Number(match[1]) : undefined;
}

function setEtag(ctx: Context, version: number): void {
  ctx.response.headers['etag'] = etagFor(version);
}

/**
 * Catalog reads need a bearer token, so no shared cache (CDN, proxy) may serve one caller's answer
 * to another: `private`. `no-cache` lets the caller keep it and revalidate with If-None-Match, which
 * costs a 304 and no body (http/conditional.ts). A public, token-free catalog feed would instead say
 * `public, max-age=60, stale-while-revalidate=300`; there is none yet.
 */
function cacheableRead(ctx: Context, etag: string): void {
  ctx.response.headers['etag'] = etag;
  ctx.response.headers['cache-control'] = 'private, no-cache';
  ctx.response.headers['vary'] = 'Authorization';
}

/** `option.<name>=<value>` query parameters: a variant option or a configurable choice the product offers. */
const optionFilterKey = /^option\.([a-z][a-zA-Z0-9_]{0,31})$/;

function optionFilters(input: Record<string, unknown>): Array<{ name: string; value: string }> {
  const filters: Array<{ name: string; value: string }> = [];
  for (const [key, value] of Object.entries(input)) {
    const name = optionFilterKey.exec(key)?.[1];
    if (name === undefined) continue;
    filters.push({ name, value: String(value) });
  }
  return filters;
}

const productListSchema = z.object({ items: z.array(productSchema), nextCursor: z.string().nullable() });

export const catalogRouter = {
  list: protectedProcedure
    .meta({
      permission: 'catalog.read',
      openapi: {
        method: 'GET',
        path: '/products',
        tags,
        summary:
          'List products: filter by category, material, text, price, option (option.color=sand), stock at a warehouse; cursor paging. ETag; If-None-Match answers 304',
      },
    })
    .input(
      z
        .strictObject({
          category: z.enum(productCategories).optional(),
          material: z.string().min(1).max(100).optional(),
          q: z.string().min(1).max(limits.catalogSearchTextLengthMax).optional(),
          minPrice: z.int().min(0).optional(),
          maxPrice: z.int().min(0).optional(),
          includeArchived: z.enum(['true', 'false']).optional(),
          inStockAt: warehouseIdSchema.optional().describe('only products with a variant available at this warehouse'),
          cursor: cursorParam(),
          limit: pageLimit(),
        })
        // `option.<name>=<value>` (e.g. option.color=sand&option.fabric=boucle); any other key is refused.
        // The values are checked below rather than by the catch-all's schema: a string catch-all would
        // give the input type a string index signature that `limit: number` breaks for typed clients.
        .catchall(z.unknown())
        .superRefine((input, context) => {
          const known = new Set([
            'category',
            'material',
            'q',
            'minPrice',
            'maxPrice',
            'includeArchived',
            'inStockAt',
            'cursor',
            'limit',
          ]);
          const extra = Object.keys(input).filter((key) => !known.has(key));
          for (const key of extra) {
            const value = input[key];
            if (!optionFilterKey.test(key))
              context.addIssue({
                code: 'custom',
                path: [key],
                message: `unknown parameter ${key}; filter options as option.<name>`,
              });
            else if (typeof value !== 'string' || value.length < 1 || value.length > 64)
              context.addIssue({ code: 'custom', path: [key], message: `${key}: a value of 1 to 64 characters` });
          }
          if (extra.length > limits.catalogOptionFiltersMax)
            context.addIssue({
              code: 'custom',
              path: ['option'],
              message: `at most ${limits.catalogOptionFiltersMax} option filters`,
            });
        }),
    )
    .output(productListSchema)
    .query(async ({ ctx, input }) => {
      const page = await listProducts(ctx.deps.db, {
        category: input.category,
        material: input.material,
        q: input.q,
        minPrice: input.minPrice,
        maxPrice: input.maxPrice,
        inStockAt: input.inStockAt,
        options: optionFilters(input),
        cursor: input.cursor,
        includeArchived: input.includeArchived === 'true',
        limit: input.limit ?? limits.pageSizeDefault,
        nowMs: ctx.deps.nowMs(),
      });
      cacheableRead(ctx, contentEtag(page));
      return page;
    }),

  get: protectedProcedure
    .meta({
      permission: 'catalog.read',
      openapi: {
        method: 'GET',
        path: '/products/{id}',
        tags,
        summary: 'One product; ETag carries its version; If-None-Match with it answers 304',
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(productSchema)
    .query(async ({ ctx, input }) => {
      const product = await getProduct(ctx.deps.db, input.id);
      cacheableRead(ctx, etagFor(product.version));
      return product;
    }),

  create: protectedProcedure
    .meta({
      permission: 'catalog.write',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/products',
        tags,
        summary: 'Create a product with its variants',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
        errorResponses: [400, 401, 403, 409, 415, 422],
      },
    })
    .input(productCreateSchema)
    .output(productSchema)
    .mutation(async ({ ctx, input }) => {
      const product = await createProduct(ctx.deps.db, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/products/${product.id}`;
      setEtag(ctx, product.version);
      return product;
    }),

  update: protectedProcedure
    .meta({
      permission: 'catalog.write',
      openapi: {
        method: 'PUT',
        path: '/products/{id}',
        tags,
        summary: 'Replace a product; needs If-Match with the ETag (stale 412, missing 428). archived: true archives it',
        requestHeaders: z.object({ 'if-match': z.string().optional() }),
        errorResponses: [400, 401, 403, 404, 409, 412, 428],
      },
    })
    .input(productUpdateSchema.extend({ id: idParam(), expectedVersion: z.int().min(1).optional() }))
    .output(productSchema)
    .mutation(async ({ ctx, input }) => {
      const { id, expectedVersion, ...fields } = input;
      let version: number | '*' | undefined = expectedVersion;
      if (version === undefined && ctx.ifMatch !== undefined) {
        version = versionFromIfMatch(ctx.ifMatch);
        if (version === undefined)
          throw new ApiError(412, 'version_mismatch', 'If-Match does not name a version of this product');
      }
      if (version === undefined)
        throw new ApiError(428, 'precondition_required', 'send If-Match with the ETag from GET (or expectedVersion)');
      if (version === '*') version = (await getProduct(ctx.deps.db, id)).version;
      const product = await updateProduct(ctx.deps.db, id, version, fields, ctx.deps.nowMs());
      setEtag(ctx, product.version);
      return product;
    }),
} satisfies TRPCRouterRecord;
