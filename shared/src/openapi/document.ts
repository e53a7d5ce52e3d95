import { z } from 'zod';

/**
 * Pure OpenAPI 3.1 building blocks the hub and the edge share: the error envelope both send, the
 * response headers both set, the error responses by status, named component schemas and the
 * operations walk. No I/O: each service builds its document from its own routes and serves it.
 */

export type JsonObject = Record<string, unknown>;
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export const httpMethods: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete'];

/** `{error: {code, message, details?}}`: the one error body of both services (errors.ts in each). */
export const errorEnvelopeSchema: JsonObject = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'Stable machine-readable reason, e.g. `invalid_input`, `sku_taken`' },
        message: { type: 'string', description: 'For people; may change' },
        details: { description: 'Reason-specific; `{issues: [{path, message, code}]}` for `invalid_input`' },
      },
    },
  },
  example: {
    error: {
      code: 'invalid_input',
      message: 'invalid input: quantity',
      details: { issues: [{ path: 'quantity', message: 'Too small: expected number to be >=1', code: 'too_small' }] },
    },
  },
};

const header = (description: string, schema: JsonObject = { type: 'string' }) => ({ description, schema });

/** Every response header either service sends, by the name used in `components.headers`. */
export const responseHeaders: Record<string, { description: string; schema: JsonObject }> = {
  ETag: header("The resource's version, for If-Match; send it as If-None-Match to revalidate a read (304)"),
  'Cache-Control': header(
    '`private, no-cache` on catalog reads: the caller may keep them and revalidate with the ETag',
  ),
  Vary: header('The request headers the answer depends on (`Authorization`)'),
  Location: header('Where the created resource is read'),
  RateLimit: header('IETF RateLimit fields: `limit=N, remaining=N[, reset=S]`'),
  'RateLimit-Policy': header("The client's budget: `N;w=1`"),
  'Retry-After': header('Seconds to wait before retrying', { type: 'string', pattern: '^[0-9]+$' }),
  'WWW-Authenticate': header('Bearer challenge (RFC 6750)'),
  'Idempotent-Replayed': header('`true` when this is the stored response of an earlier request with the same key', {
    type: 'string',
    enum: ['true'],
  }),
  Allow: header('The methods this path accepts'),
  'X-Request-Id': header("This request's id (echoed from the request, or made up); it is in every log line about it"),
};

export const headerRefs = (...names: string[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** Standard error responses by status, each the envelope plus its headers. */
const errorStatuses: Record<number, { name: string; description: string; headers?: string[] }> = {
  400: { name: 'BadRequest', description: 'Invalid input (`invalid_input` names each field) or invalid JSON' },
  401: { name: 'Unauthorized', description: 'No valid bearer token', headers: ['WWW-Authenticate'] },
  403: { name: 'Forbidden', description: 'The caller may not do this here', headers: ['WWW-Authenticate'] },
  404: { name: 'NotFound', description: 'No such resource' },
  405: { name: 'MethodNotAllowed', description: 'Not allowed on this path', headers: ['Allow'] },
  409: { name: 'Conflict', description: 'Conflicts with the current state (the code says which)' },
  412: { name: 'PreconditionFailed', description: 'If-Match does not name the current version' },
  413: { name: 'PayloadTooLarge', description: 'Request body too large' },
  415: { name: 'UnsupportedMediaType', description: 'Send `content-type: application/json`' },
  422: { name: 'UnprocessableContent', description: 'Understood but not possible now (the code says why)' },
  428: { name: 'PreconditionRequired', description: 'Send If-Match with the current ETag' },
  429: {
    name: 'TooManyRequests',
    description: 'Over the budget; retry later',
    headers: ['Retry-After', 'RateLimit', 'RateLimit-Policy'],
  },
  500: { name: 'InternalError', description: 'A bug: `{error: {code: internal}}`, never a stack' },
  503: { name: 'Unavailable', description: 'Not available now; retry later', headers: ['Retry-After'] },
};

function errorResponse(status: number): JsonObject {
  const known = errorStatuses[status];
  if (!known) throw new Error(`no standard response for ${status}`);
  return {
    description: known.description,
    headers: headerRefs('X-Request-Id', ...(known.headers ?? [])),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

/** `components` for the response headers and the Error schema. */
export function commonComponents(): { headers: JsonObject; schemas: JsonObject } {
  return { headers: { ...responseHeaders }, schemas: { Error: errorEnvelopeSchema } };
}

/**
 * `{status: response}` for error statuses, sorted. Inline (the envelope by `$ref`), not references
 * to `components.responses`: some tools read `responses[status].content` without resolving.
 */
export function errorResponses(statuses: Iterable<number>): JsonObject {
  const out: JsonObject = {};
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) out[String(status)] = errorResponse(status);
  return out;
}

/** A success response: JSON body (or none), with the named headers. */
export function successResponse(description: string, schema: JsonObject | undefined, headers: string[]): JsonObject {
  return {
    description,
    headers: headerRefs('X-Request-Id', ...headers),
    ...(schema ? { content: { 'application/json': { schema } } } : {}),
  };
}

/** A zod schema as JSON Schema 2020-12 (what OpenAPI 3.1 speaks), without the `$schema` line. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

export type OperationEntry = { path: string; method: HttpMethod; operation: JsonObject };

/** Every operation of a document's `paths`. */
export function operationsOf(document: JsonObject): OperationEntry[] {
  const out: OperationEntry[] = [];
  for (const [path, item] of Object.entries((document['paths'] ?? {}) as Record<string, JsonObject>)) {
    for (const method of httpMethods) {
      const operation = item[method] as JsonObject | undefined;
      if (operation) out.push({ path, method, operation });
    }
  }
  return out;
}

function stable(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Names schemas: each `named` entry becomes `components.schemas[name]`, and every identical inline
 * copy under `paths` and `webhooks` becomes a `$ref` to it (generators inline a schema each time
 * it is used).
 */
export function nameSchemas(document: JsonObject, named: Record<string, JsonObject>): void {
  const byText = new Map<string, string>();
  for (const [name, schema] of Object.entries(named)) byText.set(stable(schema), name);
  const replace = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(replace);
    if (node === null || typeof node !== 'object') return node;
    const name = byText.get(stable(node));
    if (name) return { $ref: `#/components/schemas/${name}` };
    return Object.fromEntries(Object.entries(node as JsonObject).map(([key, value]) => [key, replace(value)]));
  };
  for (const key of ['paths', 'webhooks']) if (document[key]) document[key] = replace(document[key]);
  const components = (document['components'] ?? {}) as JsonObject;
  const schemas = (components['schemas'] ?? {}) as JsonObject;
  // A named schema may itself contain another named one.
  for (const [name, schema] of Object.entries(named)) {
    schemas[name] = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, replace(value)]));
  }
  components['schemas'] = schemas;
  document['components'] = components;
}

export { docsAssets, docsContentSecurityPolicy, docsInitScript, docsPageHtml, type DocsAsset } from './docs-page.ts';
