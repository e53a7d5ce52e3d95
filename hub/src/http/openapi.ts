import { generateOpenApiDocument } from 'trpc-to-openapi';
import type { AnyRouter } from '@trpc/server';
import type { HubMeta } from './trpc.ts';
import { webhooksSection } from './webhooks-openapi.ts';

export const restBasePath = '/api/v1';

export type RestRoute = {
  method: string;
  path: string;
  pattern: RegExp;
  permission: HubMeta['permission'];
  procedure: string;
  idempotent: boolean;
};

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
      idempotent: meta.idempotent === true,
    });
  }
  return routes;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

const json = (schema: object) => ({ content: { 'application/json': { schema } } });

/**
 * OpenAPI 3.1 generated from the procedures, plus the few routes that are not procedures (token
 * endpoint, JWKS, probes, metrics), which live outside `/api/v1` and say so with a path-level server.
 */
export function openApiDocument(router: AnyRouter): Record<string, unknown> {
  const document = generateOpenApiDocument(router, {
    title: 'Dovetail hub',
    description:
      'Catalog, warehouses, stock view and identity. Errors are `{error: {code, message, details?}}`. Authenticate with a bearer token from `POST /oauth/token` (client_credentials) or `POST /api/v1/auth/login` (staff). The same procedures are served over tRPC at `/trpc`.',
    version: '1.0.0',
    baseUrl: restBasePath,
    docsUrl: '/docs',
  }) as unknown as { paths: Record<string, unknown>; components?: Record<string, Record<string, unknown>> };
  const root = [{ url: '/' }];
  // trpc-to-openapi documents its own error shape ({message, code, issues}) per tRPC code; the hub
  // sends {error: {code, message, details?}} (errors.ts), so every error response says that.
  const schemas: Record<string, unknown> = { ...(document.components?.schemas ?? {}), Error: errorSchema };
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) schemas[name] = errorSchema;
  document.components = { ...document.components, schemas };
  const extra: Record<string, unknown> = {
    '/oauth/token': {
      servers: root,
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
      servers: root,
      get: {
        operationId: 'jwks',
        summary: 'Public keys that sign hub tokens (ES256), by kid',
        tags: ['identity'],
        security: [],
        responses: { '200': { description: 'JWK set' } },
      },
    },
    '/healthz': {
      servers: root,
      get: {
        operationId: 'healthz',
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'alive' } },
      },
    },
    '/readyz': {
      servers: root,
      get: {
        operationId: 'readyz',
        summary: 'Readiness: database reachable and migrations applied',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
    '/metrics': {
      servers: root,
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'text exposition' } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'OpenAPI 3.1' } },
      },
    },
    '/track/{token}': {
      servers: root,
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
    '/carriers/easypost': {
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
          '200': { description: 'recorded, ignored (another event type) or unmatched (unknown tracker)' },
          '400': { description: 'not an EasyPost event', ...json({ $ref: '#/components/schemas/Error' }) },
          '401': { description: 'invalid_signature', ...json({ $ref: '#/components/schemas/Error' }) },
          '404': { description: 'the adapter is off (HUB_EASYPOST_WEBHOOK_SECRET unset)' },
        },
      },
    },
    ...notificationPages(),
    '/docs': {
      servers: root,
      get: {
        operationId: 'docs',
        summary: 'Interactive API reference',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'HTML' } },
      },
    },
  };
  // Public procedures (staff sign-in) need no token: say so, or generated clients send one anyway.
  for (const route of restRoutes(router)) {
    if (route.permission !== 'public') continue;
    const item = document.paths[route.path] as Record<string, Record<string, unknown>> | undefined;
    const operation = item?.[route.method.toLowerCase()];
    if (operation) operation['security'] = [];
  }
  document.paths = { ...document.paths, ...extra };
  // What the hub sends to partners (Standard Webhooks), generated from the shared event catalogue.
  (document as Record<string, unknown>)['webhooks'] = webhooksSection();
  return document as unknown as Record<string, unknown>;
}

/** The pages behind links in customer notifications (HTML; the token in the path is the only key). */
function notificationPages(): Record<string, unknown> {
  const root = [{ url: '/' }];
  const token = (what: string) => [
    { name: 'token', in: 'path', required: true, description: what, schema: { type: 'string' } },
  ];
  const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
  const limited = { '429': html('too many requests from this address') };
  return {
    '/unsubscribe/{token}': {
      servers: root,
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
      servers: root,
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
