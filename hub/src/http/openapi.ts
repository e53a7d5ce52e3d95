import { openapi } from '@dovetail/shared';
import type { AnyRouter } from '@trpc/server';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import type { HubMeta } from './trpc.ts';
import { webhooksSection } from './webhooks-openapi.ts';
import { catalogTransferPaths } from './catalog-transfer-openapi.ts';

export const restBasePath = '/api/v1';

export type RestRoute = {
  method: string;
  path: string;
  pattern: RegExp;
  permission: HubMeta['permission'];
  procedure: string;
  idempotent: boolean;
  /** A request without `Idempotency-Key` is refused (400 idempotency_key_required). */
  idempotencyRequired: boolean;
  /** Error statuses the procedure's meta names beyond the usual ones. */
  errorResponses: number[] | undefined;
};

type JsonObject = openapi.JsonObject;

/** The REST routes as the procedures declare them: the one source for routing, 405s, metrics and docs. */
export function restRoutes(router: AnyRouter): RestRoute[] {
  const procedures = router._def.procedures as Record<string, { _def: { meta?: HubMeta } }>;
  const routes: RestRoute[] = [];
  for (const [procedure, definition] of Object.entries(procedures)) {
    const meta = definition._def.meta;
    if (!meta?.openapi) continue;
    const pattern = new RegExp(`^${meta.openapi.path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
    routes.push({
      method: meta.openapi.method,
      path: meta.openapi.path,
      pattern,
      permission: meta.permission,
      procedure,
      idempotent: meta.idempotent === true || meta.idempotent === 'required',
      idempotencyRequired: meta.idempotent === 'required',
      errorResponses: Array.isArray(meta.openapi.errorResponses)
        ? meta.openapi.errorResponses
        : meta.openapi.errorResponses
          ? Object.keys(meta.openapi.errorResponses).map(Number)
          : undefined,
    });
  }
  return routes;
}

const json = (schema: object) => ({ content: { 'application/json': { schema } } });

/** Success statuses other than 200, by operation (what each procedure sets on `ctx.response.status`). */
const successStatuses: Record<string, number[]> = {
  'POST /products': [201],
  'POST /warehouses': [201],
  'POST /warehouses/{id}/edges': [201],
  'POST /warehouses/{id}/inventory/{sku}': [201],
  'POST /clients': [201],
  'POST /staff': [201],
  'POST /inventory/reserve': [201],
  'POST /orders': [201],
  'POST /warehouses/{id}/quotas/grant': [201],
  'POST /warehouses/{id}/quotas/return': [202],
  'POST /shipments': [201],
  'POST /shipments/{id}/events': [201, 200],
  'POST /orders/{id}/return': [201],
  'POST /orders/{id}/exchange': [201],
  'POST /orders/{id}/refunds': [201, 200],
  'POST /webhooks': [201],
  'POST /purchase-orders': [201],
  'POST /webhooks/{id}/test': [202],
  'POST /webhooks/{id}/deliveries/{deliveryId}/retry': [202],
};
const withLocation = new Set([
  'POST /products',
  'POST /purchase-orders',
  'POST /warehouses',
  'POST /orders',
  'POST /orders/{id}/return',
  'POST /orders/{id}/exchange',
]);
const withEtag = new Set(['GET /products', 'GET /products/{id}', 'POST /products', 'PUT /products/{id}']);
/** Conditional reads (http/conditional.ts): If-None-Match with the current ETag answers 304, no body. */
const withNotModified = new Set(['GET /products', 'GET /products/{id}']);
const withIfMatch = new Set(['PUT /products/{id}']);

/** Component schemas by name: the success body of the operation that returns exactly that. */
const namedSchemas: Record<string, string> = {
  Product: 'GET /products/{id}',
  Warehouse: 'GET /warehouses/{id}',
  StockPartition: 'PUT /warehouses/{id}/inventory/{sku}',
  SkuInventory: 'GET /inventory/{sku}',
  ApiClient: 'PATCH /clients/{id}',
  Staff: 'POST /staff/{id}/disable',
  Hold: 'GET /inventory/holds/{id}',
  Order: 'GET /orders/{id}',
  FulfillmentOrder: 'GET /fulfillment-orders/{id}',
  QuotaPolicy: 'GET /warehouses/{id}/quota-policy',
  QuotaMove: 'POST /warehouses/{id}/quotas/grant',
  Shipment: 'POST /shipments',
  Return: 'GET /returns/{id}',
  Refund: 'POST /orders/{id}/refunds',
  WebhookEndpoint: 'GET /webhooks/{id}',
};

const tagDescriptions: Record<string, string> = {
  catalog: 'Products and their variants (SKUs)',
  warehouses: 'Warehouses, their edges and API-owned stock',
  inventory: 'The stock view: quantities per SKU across warehouses',
  holds: 'Checkout holds: reserve and release',
  orders: 'Orders from checkout to delivery',
  customers: "Privacy requests: a customer's personal data exported or erased",
  'fulfillment orders': 'What a 3PL or dropshipper is asked to ship',
  quotas: 'In-store quotas of showroom edges',
  shipments: 'Shipments and carrier events',
  returns: 'Returns and refunds',
  webhooks: 'Webhook endpoints and deliveries (Standard Webhooks)',
  notifications: 'Customer feedback',
  identity: 'API clients, staff, signing keys and sign-in',
  edges: 'Warehouse edge nodes',
  audit: 'The audit trail: privileged actions and refused sign-ins, hash-chained',
  operations: 'Probes and this document (outside /api/v1, see x-root-routes)',
};

function successSchema(operation: JsonObject): JsonObject | undefined {
  const responses = operation['responses'] as Record<string, JsonObject>;
  const success = Object.entries(responses).find(([status]) => status.startsWith('2'))?.[1];
  const content = success?.['content'] as Record<string, { schema: JsonObject }> | undefined;
  return content?.['application/json']?.schema;
}

/**
 * What every operation may answer, from what the shell and the procedures do: the guard (401, 403,
 * 429), input checks (400), path lookups (404), bodies (413, 415), state conflicts on writes (409,
 * 422), If-Match (412, 428), idempotency (409, 422), and the success status with its headers.
 */
function completeOperation(route: RestRoute, operation: JsonObject): void {
  const key = `${route.method} ${route.path}`;
  const method = route.method;
  const write = method !== 'GET';
  const errors = new Set<number>([400, 500]);
  const add = (...statuses: number[]) => {
    for (const status of statuses) errors.add(status);
  };
  if (route.permission === 'public') add(401, 429);
  else add(401, 403, 429);
  add(404); // the path's resource, or one the body names (an order, a hold, a warehouse)
  if (write) add(409, 413, 415, 422);
  if (withIfMatch.has(key)) add(412, 428);
  const declared = (route.errorResponses ?? []) as number[];
  add(...declared);
  const headers = route.permission === 'public' ? [] : ['RateLimit', 'RateLimit-Policy'];
  if (withEtag.has(key)) headers.push('ETag');
  const schema = successSchema(operation);
  const responses: JsonObject = {};
  const statuses = successStatuses[key] ?? [200];
  for (const status of statuses) {
    const statusHeaders = [...headers];
    if (status === 201 && withLocation.has(key)) statusHeaders.push('Location');
    if (route.idempotent) statusHeaders.push('Idempotent-Replayed');
    const description = status === 201 ? 'Created' : status === 202 ? 'Accepted' : 'OK';
    responses[String(status)] = openapi.successResponse(description, schema, statusHeaders);
  }
  if (withNotModified.has(key)) {
    for (const status of statuses) {
      const response = responses[String(status)] as JsonObject;
      response['headers'] = { ...(response['headers'] as JsonObject), ...openapi.headerRefs('Cache-Control', 'Vary') };
    }
    responses['304'] = openapi.successResponse('Not Modified: If-None-Match names the current ETag', undefined, [
      'ETag',
      'Cache-Control',
      'Vary',
    ]);
  }
  const failures = openapi.errorResponses(errors) as Record<string, { headers: JsonObject }>;
  // Business refusals are kept and replayed under the same Idempotency-Key, marked as replays.
  if (route.idempotent) {
    for (const status of ['409', '412', '422']) {
      const failure = failures[status];
      if (failure) failure.headers['Idempotent-Replayed'] = { $ref: '#/components/headers/Idempotent-Replayed' };
    }
  }
  operation['responses'] = { ...responses, ...failures };
  if (route.permission === 'public') operation['security'] = [];
  else operation['security'] = [{ bearer: [] }, { clientCredentials: [route.permission] }];
}

/**
 * OpenAPI 3.1 generated from the procedures (one server, `/api/v1`), with named component schemas,
 * every status and header each operation answers with, and the routes outside `/api/v1` (token
 * endpoint, JWKS, probes, metrics, pages) under `x-root-routes` and as the OAuth 2.0 flow.
 */
export function openApiDocument(router: AnyRouter): Record<string, unknown> {
  const routes = restRoutes(router);
  const scopes = Object.fromEntries(
    [...new Set(routes.map((route) => route.permission).filter((permission) => permission !== 'public'))]
      .sort()
      .map((permission) => [permission, `the ${permission} permission`]),
  );
  const document = generateOpenApiDocument(router, {
    title: 'Dovetail hub',
    description:
      'Catalog, warehouses, stock view, orders, fulfillment and identity. Errors are `{error: {code, message, details?}}`. Authenticate with a bearer token from `POST /oauth/token` (client_credentials, form-encoded; the `clientCredentials` scheme) or `POST /api/v1/auth/login` (staff). The same procedures are served over tRPC at `/trpc`. Outside `/api/v1`: `/oauth/token`, `/.well-known/jwks.json`, `/healthz`, `/readyz`, `/docs` and the customer pages, listed under `x-root-routes`.',
    version: '1.0.0',
    baseUrl: restBasePath,
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      clientCredentials: {
        type: 'oauth2',
        description: 'OAuth 2.0 client_credentials (RFC 6749); client auth by HTTP Basic or client_id/client_secret',
        flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes } },
      },
    },
  }) as unknown as JsonObject & { paths: Record<string, Record<string, JsonObject>> };
  // Named schemas first (from the generator's own output, so they match its inline copies).
  const named: Record<string, JsonObject> = {};
  for (const [name, key] of Object.entries(namedSchemas)) {
    const [method, path] = key.split(' ') as [string, string];
    const operation = document.paths[path]?.[method.toLowerCase()];
    const schema = operation && successSchema(operation);
    if (!schema) throw new Error(`named schema ${name}: no ${key} success body`);
    named[name] = schema;
  }
  const common = openapi.commonComponents();
  const components = (document['components'] ?? {}) as JsonObject;
  // trpc-to-openapi adds its own error shapes (error.BAD_REQUEST, …); the hub never sends them.
  document['components'] = {
    securitySchemes: components['securitySchemes'],
    schemas: common.schemas,
    headers: common.headers,
  };
  for (const route of routes) {
    const operation = document.paths[route.path]?.[route.method.toLowerCase()];
    if (operation) completeOperation(route, operation);
  }
  document.paths['/carriers/easypost'] = carrierRoute() as Record<string, JsonObject>;
  Object.assign(document.paths, catalogTransferPaths());
  document.paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['operations'],
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1', ...json({ type: 'object' }) } },
    },
  };
  openapi.nameSchemas(document, named);
  const used = new Set(openapi.operationsOf(document).flatMap(({ operation }) => operation['tags'] as string[]));
  document['tags'] = [...used, 'webhooks']
    .filter((tag, index, all) => all.indexOf(tag) === index)
    .map((name) => ({
      name,
      ...(tagDescriptions[name] ? { description: tagDescriptions[name] } : {}),
    }));
  delete document['externalDocs'];
  document['x-root-routes'] = rootRoutes();
  // What the hub sends to partners (Standard Webhooks), generated from the shared event catalogue.
  document['webhooks'] = webhooksSection();
  return document;
}

function carrierRoute(): JsonObject {
  return {
    post: {
      operationId: 'carrier-easypost',
      summary:
        "EasyPost's tracker.updated webhook, verified by X-Hmac-Signature (no bearer token); each scan is recorded as POST /shipments/{id}/events would",
      tags: ['shipments'],
      security: [],
      parameters: [
        {
          name: 'x-hmac-signature',
          in: 'header',
          required: true,
          description: 'hmac-sha256-hex=<hex HMAC-SHA256 of the raw body under HUB_EASYPOST_WEBHOOK_SECRET>',
          schema: { type: 'string' },
        },
      ],
      requestBody: { required: true, ...json({ type: 'object' }) },
      responses: {
        '200': openapi.successResponse(
          'recorded, ignored (another event type) or unmatched (unknown tracker)',
          { type: 'object' },
          [],
        ),
        ...openapi.errorResponses([400, 401, 404, 413, 415, 500]),
      },
    },
  };
}

/** The routes outside `/api/v1`, described as path items (served at the root of the hub). */
function rootRoutes(): JsonObject {
  return {
    '/oauth/token': {
      post: {
        operationId: 'oauth-token',
        summary:
          'OAuth 2.0 client_credentials token (RFC 6749); form-encoded; client auth by HTTP Basic or client_id/client_secret',
        tags: ['identity'],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['grant_type'],
                properties: {
                  grant_type: { type: 'string', enum: ['client_credentials'] },
                  client_id: { type: 'string' },
                  client_secret: { type: 'string' },
                  scope: { type: 'string' },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'Access token (no refresh token)',
            ...json({
              type: 'object',
              properties: {
                access_token: { type: 'string' },
                token_type: { type: 'string' },
                expires_in: { type: 'integer' },
                scope: { type: 'string' },
              },
            }),
          },
          '400': { description: 'invalid_request, unsupported_grant_type or invalid_scope' },
          '401': { description: 'invalid_client' },
          '429': { description: 'too many failed attempts' },
        },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        operationId: 'jwks',
        summary: 'Public keys that sign hub tokens (ES256), by kid',
        tags: ['identity'],
        security: [],
        responses: { '200': { description: 'JWK set' } },
      },
    },
    '/healthz': {
      get: {
        operationId: 'healthz',
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'alive' } },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readyz',
        summary: 'Readiness: database reachable and migrations applied',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
    '/track/{token}': {
      get: {
        operationId: 'tracking-page',
        summary:
          "The customer's tracking page (HTML, strict CSP): order number, items, timeline, estimate, carrier link; no personal data beyond a first name and a city",
        tags: ['shipments'],
        security: [],
        parameters: [
          {
            name: 'token',
            in: 'path',
            required: true,
            description: "the order's tracking token (its `trackingUrl`)",
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'HTML page' },
          '404': { description: 'HTML page: no order behind this token (the same for any token)' },
          '429': { description: 'too many requests from this address' },
        },
      },
    },
    ...notificationPages(),
    ...opsPages(),
    '/': {
      get: {
        operationId: 'home',
        summary: "The hub's home page: links to the API reference, the operations console and the health probes",
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/docs': {
      get: {
        operationId: 'docs',
        summary: 'Interactive API reference (Swagger UI, served from this hub; Authorize takes a bearer token)',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'HTML' } },
      },
    },
    '/docs/{asset}': {
      get: {
        operationId: 'docs-asset',
        summary: "The reference's script and style sheet",
        tags: ['operations'],
        security: [],
        parameters: [
          {
            name: 'asset',
            in: 'path',
            required: true,
            schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js'] },
          },
        ],
        responses: { '200': { description: 'CSS or JavaScript' }, '404': { description: 'no such asset' } },
      },
    },
  };
}

/**
 * The operations console (http/ops-console.ts): HTML pages for hub staff, signed in with a session
 * cookie (not a bearer token); without one a page redirects to the sign-in form.
 */
function opsPages(): Record<string, unknown> {
  const html = { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } };
  const page = (operationId: string, summary: string, parameters?: unknown[]) => ({
    get: {
      operationId,
      summary,
      tags: ['operations'],
      security: [],
      ...(parameters ? { parameters } : {}),
      responses: {
        '200': html,
        '302': { description: 'no console session: to the sign-in form' },
        '403': { description: 'the signed-in staff member may not see this page' },
      },
    },
  });
  const form = (operationId: string, summary: string) => ({
    post: {
      operationId,
      summary,
      tags: ['operations'],
      security: [],
      requestBody: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
      },
      responses: {
        '200': html,
        '302': { description: 'done: to the next page' },
        '401': { description: 'sign-in refused' },
        '403': { description: 'no session, a missing CSRF token or another origin' },
        '413': { description: 'form too large' },
        '429': { description: 'too many sign-in attempts' },
      },
    },
  });
  return {
    '/ops': page('ops-overview', 'Operations console: overview'),
    '/ops/sign-in': {
      ...page('ops-sign-in-form', 'Operations console: the sign-in form'),
      ...form('ops-sign-in', 'Operations console: sign in as hub staff'),
    },
    '/ops/sign-out': form('ops-sign-out', 'Operations console: sign out'),
    '/ops/stock': page('ops-stock', 'Stock by SKU and warehouse, with every quantity'),
    '/ops/stock/holds': page('ops-stock-holds', 'Holds in force on a SKU', [
      { name: 'sku', in: 'query', required: false, schema: { type: 'string' } },
    ]),
    '/ops/edges': page('ops-edges', 'Edges: connection, lag in events and seconds, refused events'),
    '/ops/orders': page('ops-orders', 'Orders by state, stuck ones first'),
    '/ops/orders/{id}': page('ops-order', 'One order', [
      { name: 'id', in: 'path', required: true, description: 'order id or number', schema: { type: 'string' } },
    ]),
    '/ops/shortages': page('ops-shortages', 'Shortages and backorders'),
    '/ops/webhooks': page('ops-webhooks', 'Webhook endpoints and failing deliveries'),
    '/ops/webhooks/retry': form('ops-webhook-retry', 'Retry a failed webhook delivery'),
    '/ops/assets/console.js': {
      get: {
        operationId: 'ops-console-script',
        summary: "The console's script (refreshes live pages)",
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'JavaScript' } },
      },
    },
  };
}

/** The pages behind links in customer notifications (HTML; the token in the path is the only key). */
function notificationPages(): Record<string, unknown> {
  const token = (what: string) => [
    { name: 'token', in: 'path', required: true, description: what, schema: { type: 'string' } },
  ];
  const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
  const limited = { '429': html('too many requests from this address') };
  return {
    '/unsubscribe/{token}': {
      parameters: token("the recipient's unsubscribe token (the e-mail's List-Unsubscribe link)"),
      get: {
        operationId: 'unsubscribe-page',
        summary:
          'The opt-out page for one recipient and channel, with its button (strict CSP, no personal data); changes nothing',
        tags: ['notifications'],
        security: [],
        responses: { '200': html('HTML page'), '404': html('no recipient behind this token'), ...limited },
      },
      post: {
        operationId: 'unsubscribe',
        summary:
          'RFC 8058 one-click opt-out (body `List-Unsubscribe=One-Click`, or the page button): later notifications to this recipient on this channel are recorded suppressed',
        tags: ['notifications'],
        security: [],
        requestBody: {
          required: false,
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', properties: { 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } } },
            },
          },
        },
        responses: {
          '200': html('unsubscribed (again: unchanged)'),
          '404': html('no recipient behind this token'),
          ...limited,
        },
      },
    },
    '/feedback/{token}': {
      parameters: token("the order's feedback token (the feedback e-mail's link)"),
      get: {
        operationId: 'feedback-page',
        summary:
          'The one-question feedback page after delivery (rating 1–5 and a comment; strict CSP); changes nothing',
        tags: ['notifications'],
        security: [],
        responses: {
          '200': html('the form, or a thank-you once answered'),
          '404': html('no order behind this token'),
          ...limited,
        },
      },
      post: {
        operationId: 'feedback-answer',
        summary: "The order's one answer; a second is refused politely (409) and the first kept",
        tags: ['notifications'],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['rating'],
                properties: {
                  rating: { type: 'string', enum: ['1', '2', '3', '4', '5'] },
                  comment: { type: 'string', maxLength: 2000 },
                },
              },
            },
          },
        },
        responses: {
          '200': html('recorded: thank-you page'),
          '400': html('no or a bad rating, or a comment too long: the form again, saying what'),
          '404': html('no order behind this token'),
          '409': html('this order was already rated'),
          '413': { description: 'body too large' },
          '415': html('not a form post'),
          ...limited,
        },
      },
    },
  };
}
