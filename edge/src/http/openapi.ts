import {
  adjustCommandSchema,
  countCommandSchema,
  damageCommandSchema,
  instoreSaleCommandSchema,
  moveCommandSchema,
  openapi,
  packRequestSchema,
  pickRequestSchema,
  quotaReturnCommandSchema,
  receiveCommandSchema,
  returnReceiveSchema,
  supplyReceiveCommandSchema,
  shipRequestSchema,
  transferInCommandSchema,
  transferOutCommandSchema,
} from '@dovetail/shared';
import { z } from 'zod';
import { createStaffSchema, loginSchema, updateStaffSchema } from './routes/session.ts';

type JsonObject = openapi.JsonObject;

/**
 * Success bodies: the fields clients rely on, open to more. The test harness checks every answer a
 * test receives against them (test-support/node.ts), so a renamed or retyped field fails a test.
 */
const stockViewSchema = z.looseObject({
  sku: z.string(),
  warehouseId: z.string(),
  onHand: z.int(),
  available: z.int(),
  committed: z.int(),
  verified: z.boolean(),
  bins: z.array(z.object({ bin: z.string(), quantity: z.int() })),
  updatedAt: z.string().nullable(),
});
const responseSchemas: Record<string, JsonObject> = {
  StockView: openapi.jsonSchemaOf(stockViewSchema),
  StockActionResult: openapi.jsonSchemaOf(
    z.looseObject({ event: z.looseObject({ type: z.string(), sku: z.string() }), stock: stockViewSchema }),
  ),
  Session: openapi.jsonSchemaOf(
    z.object({
      token: z.string(),
      expiresAt: z.iso.datetime(),
      staff: z.looseObject({ username: z.string(), role: z.string() }),
    }),
  ),
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

type Route = {
  method: openapi.HttpMethod;
  /** Under `/api/v1`, OpenAPI style (`{sku}`). */
  path: string;
  tag: string;
  summary: string;
  body?: z.ZodType;
  query?: JsonObject[];
  success: number[];
  errors: number[];
  /** Success headers beyond X-Request-Id. */
  headers?: string[];
  idempotent?: boolean;
  public?: boolean;
  /** The success body's named schema (components.schemas); any object otherwise. */
  response?: string;
  example?: unknown;
};

const read = [400, 401, 403, 404, 429, 500];
const write = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];
const stockActions: Array<[string, z.ZodType, string]> = [
  ['receive', receiveCommandSchema, 'Units arrive (optionally into a bin, with lot and serials)'],
  ['count', countCommandSchema, 'A cycle count, stored as a delta against on-hand at count time'],
  ['adjust', adjustCommandSchema, 'Supervisors only: a free-form correction (`write_off` removes damaged units)'],
  ['damage', damageCommandSchema, 'Units stay on hand but leave `available`'],
  ['move', moveCommandSchema, 'Between bins'],
  ['transfer-out', transferOutCommandSchema, 'Units leave for another warehouse'],
  ['transfer-in', transferInCommandSchema, 'Units arrive from another warehouse'],
  ['instore-sale', instoreSaleCommandSchema, "A showroom sale out of the edge's in-store quota"],
  ['quota-return', quotaReturnCommandSchema, 'Give in-store quota back to the hub'],
];

const stringQuery = (name: string, description: string, schema: JsonObject = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const paging = [
  stringQuery('limit', 'page size', { type: 'integer', minimum: 1 }),
  stringQuery('cursor', 'the previous page’s nextCursor'),
];

const routes: Route[] = [
  {
    method: 'post',
    path: '/login',
    tag: 'session',
    summary: 'Staff sign-in → `{token, expiresAt, staff}`; 5 failures lock the name for 60 s (429)',
    public: true,
    body: loginSchema,
    response: 'Session',
    success: [200],
    errors: [400, 401, 413, 415, 429, 500],
    example: { username: 'demo', password: 'demo-password' },
  },
  {
    method: 'post',
    path: '/logout',
    tag: 'session',
    summary: 'End this session',
    success: [204],
    errors: [401, 500],
  },
  { method: 'get', path: '/me', tag: 'session', summary: 'Who this token is', success: [200], errors: [401, 500] },
  { method: 'get', path: '/staff', tag: 'staff', summary: "This warehouse's staff", success: [200], errors: read },
  {
    method: 'post',
    path: '/staff',
    tag: 'staff',
    summary: 'Add a staff member (supervisors)',
    body: createStaffSchema,
    success: [201],
    errors: write,
  },
  {
    method: 'patch',
    path: '/staff/{username}',
    tag: 'staff',
    summary: 'Disable or re-enable a staff member',
    body: updateStaffSchema,
    success: [200],
    errors: write,
  },
  ...stockActions.map(
    ([action, body, summary]): Route => ({
      method: 'post',
      path: `/stock/${action}`,
      tag: 'stock',
      summary,
      body,
      response: 'StockActionResult',
      success: [201],
      errors: write,
      idempotent: true,
    }),
  ),
  {
    method: 'get',
    path: '/stock',
    tag: 'stock',
    summary: 'Stock of this warehouse, by SKU (filter by SKU prefix, bin, unverified, in stock)',
    query: [
      stringQuery('sku', 'SKU prefix'),
      stringQuery('bin', 'bin'),
      stringQuery('unverified', 'only partitions not yet verified', { type: 'string', enum: ['true', 'false'] }),
      stringQuery('inStock', 'only partitions with units', { type: 'string', enum: ['true', 'false'] }),
      ...paging,
    ],
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/stock/{sku}',
    tag: 'stock',
    summary: 'One SKU: on hand, available, committed, damaged, by bin',
    response: 'StockView',
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/stock/{sku}/history',
    tag: 'stock',
    summary: "One SKU's ledger, newest first (`order=asc` for oldest first)",
    query: [stringQuery('order', 'asc or desc', { type: 'string', enum: ['asc', 'desc'] }), ...paging],
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/catalog',
    tag: 'catalog',
    summary: 'Product names for SKUs (`?sku=A&sku=B`)',
    query: [stringQuery('sku', 'a SKU; repeat for more')],
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/catalog/lookup',
    tag: 'catalog',
    summary: 'The product a scanned SKU or GTIN stands for',
    query: [stringQuery('code', 'SKU or GTIN')],
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/fulfillments',
    tag: 'fulfillments',
    summary: 'Orders to pick, pack and ship here',
    query: [stringQuery('status', 'fulfillment status or `active`'), ...paging],
    success: [200],
    errors: read,
  },
  { method: 'get', path: '/fulfillments/{id}', tag: 'fulfillments', summary: 'One', success: [200], errors: read },
  ...(
    [
      ['pick', pickRequestSchema],
      ['pack', packRequestSchema],
      ['ship', shipRequestSchema],
    ] as const
  ).map(
    ([step, body]): Route => ({
      method: 'post',
      path: `/fulfillments/{id}/${step}`,
      tag: 'fulfillments',
      summary: `Record the ${step}`,
      body,
      success: [201],
      errors: write,
      idempotent: true,
    }),
  ),
  {
    method: 'get',
    path: '/returns',
    tag: 'returns',
    summary: 'Returns expected or received here',
    query: [stringQuery('status', 'return status'), ...paging],
    success: [200],
    errors: read,
  },
  { method: 'get', path: '/returns/{id}', tag: 'returns', summary: 'One return', success: [200], errors: read },
  {
    method: 'post',
    path: '/returns/{id}/receive',
    tag: 'returns',
    summary: 'Receive returned units: restock or damage each line',
    body: returnReceiveSchema,
    success: [201],
    errors: write,
    idempotent: true,
  },
  ...(
    [
      ['purchase-orders', 'purchase order'],
      ['production', 'production request'],
    ] as const
  ).flatMap(([path, noun]): Route[] => [
    {
      method: 'get',
      path: `/${path}`,
      tag: 'supply',
      summary: `Each ${noun} this warehouse expects, with what was received against it`,
      query: [stringQuery('status', '`open` (default) or `all`'), stringQuery('limit', 'at most this many')],
      success: [200],
      errors: read,
    },
    { method: 'get', path: `/${path}/{id}`, tag: 'supply', summary: `One ${noun}`, success: [200], errors: read },
    {
      method: 'post',
      path: `/${path}/{id}/receive`,
      tag: 'supply',
      summary: `Receive units against a ${noun} (a receive scan whose reference names it; works offline)`,
      body: supplyReceiveCommandSchema,
      success: [201],
      errors: write,
      idempotent: true,
    },
  ]),
  {
    method: 'get',
    path: '/sync/status',
    tag: 'sync',
    summary: 'The link to the hub: connected, last contact, outbox depth, rejections',
    success: [200],
    errors: read,
  },
  {
    method: 'get',
    path: '/sync/rejections',
    tag: 'sync',
    summary: 'Events the hub refused',
    query: paging,
    success: [200],
    errors: read,
  },
];

const tagDescriptions: Record<string, string> = {
  session: 'Sign in and out',
  staff: "The warehouse's staff",
  stock: 'Scans: every movement of stock in this warehouse',
  catalog: 'Product names for scanners',
  fulfillments: 'Pick, pack and ship',
  returns: 'Receive returns',
  supply: 'Receive purchase orders and finished made-to-order units',
  sync: 'The link to the hub',
};

/**
 * The edge's OpenAPI 3.1 document, `/api/v1/openapi.json`: request bodies generated from the same zod
 * schemas the routes validate with (shared/ and routes/session.ts), errors and headers from the building
 * blocks the hub uses (shared/src/openapi/document.ts).
 */
export function edgeOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const body = route.body;
    const parameters: JsonObject[] = [
      ...[...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => ({
        name: match[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(route.query ?? []),
      ...(route.idempotent
        ? [
            {
              name: 'idempotency-key',
              in: 'header',
              required: false,
              description: 'Retry-safe write: the same key and body replay the first response',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
          ]
        : []),
    ];
    const responses: JsonObject = {};
    for (const status of route.success) {
      const headers = [...(route.headers ?? []), ...(route.idempotent ? ['Idempotent-Replayed'] : [])];
      responses[String(status)] = openapi.successResponse(
        status === 201 ? 'Created' : status === 204 ? 'No content' : 'OK',
        status === 204 ? undefined : route.response ? ref(route.response) : { type: 'object' },
        headers,
      );
    }
    Object.assign(responses, openapi.errorResponses(route.errors));
    const operation: JsonObject = {
      operationId: `${route.method}-${route.path
        .replace(/[{}]/g, '')
        .replace(/[^A-Za-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')}`,
      summary: route.summary,
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: openapi.jsonSchemaOf(body, 'input'),
                  ...(route.example ? { example: route.example } : {}),
                },
              },
            },
          }
        : {}),
      responses,
      ...(route.public ? { security: [] } : {}),
    };
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method]: operation };
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['session'],
      security: [],
      responses: { '200': openapi.successResponse('OpenAPI 3.1', { type: 'object' }, []) },
    },
  };
  const common = openapi.commonComponents();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Dovetail edge',
      version: '1.0.0',
      description:
        "One warehouse's edge node: scans, stock, pick/pack/ship and returns, with or without the hub. Sign in with `POST /api/v1/login` and send the token as `Authorization: Bearer …`. Errors are `{error: {code, message, details?}}`. Outside `/api/v1`: the scanner app at `/`, `/healthz`, `/docs`.",
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    tags: Object.entries(tagDescriptions).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token from POST /login' } },
      ...common,
      schemas: { ...common.schemas, ...responseSchemas },
    },
  };
}
