import fc from 'fast-check';
import { type JsonObject, type OperationEntry, operationsOf } from './document.ts';

/**
 * Requests generated from an OpenAPI 3.1 document, for a Schemathesis-like check with fast-check:
 * for each operation, path and query parameters and a JSON body drawn from their schemas (mostly
 * valid, sometimes any JSON at all), so a test can send them to a real service and check that it
 * never answers 5xx and that every answer matches the document. The same generator draws tRPC
 * inputs and sync frames from `z.toJSONSchema` of their zod schemas (`payloadFor`). Test-only (the
 * `@dovetail/shared/openapi-fuzz` entry); nothing in the services imports it.
 */

export type GeneratedRequest = { method: string; url: string; body?: unknown; authenticated: boolean };

const maxDepth = 4;

function resolve(document: JsonObject, schema: JsonObject): JsonObject {
  let current = schema;
  for (let hops = 0; typeof current['$ref'] === 'string' && hops < 10; hops++) {
    let target: unknown = document;
    for (const segment of (current['$ref'] as string).replace(/^#\//, '').split('/')) {
      target = (target as JsonObject)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    current = (target ?? {}) as JsonObject;
  }
  return current;
}

function stringArbitrary(schema: JsonObject): fc.Arbitrary<string> {
  const minLength = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const maxLength = Math.min(typeof schema['maxLength'] === 'number' ? schema['maxLength'] : 40, 80);
  const bounds = { minLength, maxLength: Math.max(minLength, maxLength) };
  // Mostly printable ASCII; now and then any code point, NUL and lone surrogates included (what a
  // PostgreSQL text column refuses, and what trips a careless escape).
  const plain = fc.oneof(
    { weight: 4, arbitrary: fc.string(bounds) },
    { weight: 1, arbitrary: fc.string({ ...bounds, unit: 'binary' }) },
  );
  if (schema['format'] === 'uuid') return fc.oneof(fc.uuid({ version: 7 }), plain);
  if (schema['format'] === 'date-time')
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((date) => date.toISOString());
  if (schema['format'] === 'email') return fc.oneof(fc.emailAddress(), plain);
  if (typeof schema['pattern'] === 'string') {
    try {
      const matching = fc.stringMatching(new RegExp(schema['pattern'] as string));
      const bounded = matching.filter((text) => text.length >= minLength && text.length <= maxLength);
      return fc.oneof({ weight: 4, arbitrary: bounded }, { weight: 1, arbitrary: plain });
    } catch {
      return plain;
    }
  }
  return plain;
}

/** A value for a JSON Schema: valid by construction for the keywords this knows. */
export function valueFor(document: JsonObject, input: JsonObject, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(document, input);
  if ('const' in schema) return fc.constant(schema['const']);
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  const alternatives = (schema['anyOf'] ?? schema['oneOf']) as JsonObject[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0)
    return fc.oneof(...alternatives.map((alternative) => valueFor(document, alternative, depth + 1)));
  if (Array.isArray(schema['allOf']) && schema['allOf'].length > 0)
    return valueFor(document, (schema['allOf'] as JsonObject[])[0] as JsonObject, depth + 1);
  const type = schema['type'];
  if (Array.isArray(type))
    return fc.oneof(...type.map((one) => valueFor(document, { ...schema, type: one }, depth + 1)));
  if (depth > maxDepth) return fc.constant(type === 'array' ? [] : type === 'object' ? {} : null);
  switch (type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer': {
      const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : -1_000_000;
      const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : 1_000_000;
      const exclusiveMin = typeof schema['exclusiveMinimum'] === 'number' ? schema['exclusiveMinimum'] + 1 : min;
      return fc.integer({
        min: Math.max(min, exclusiveMin, Number.MIN_SAFE_INTEGER),
        max: Math.min(max, Number.MAX_SAFE_INTEGER),
      });
    }
    case 'number':
      return fc.double({
        min: typeof schema['minimum'] === 'number' ? schema['minimum'] : -1e9,
        max: typeof schema['maximum'] === 'number' ? schema['maximum'] : 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema['items'] ?? {}) as JsonObject;
      const minLength = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      const maxLength = Math.min(typeof schema['maxItems'] === 'number' ? schema['maxItems'] : 3, minLength + 3);
      return fc.array(valueFor(document, items, depth + 1), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, JsonObject>;
      const required = (schema['required'] ?? []) as string[];
      if (Object.keys(properties).length === 0)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 });
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) record[name] = valueFor(document, property, depth + 1);
      return fc.record(record, { requiredKeys: required.filter((name) => name in properties) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * A request body, a tRPC procedure's input or a sync frame for a schema: mostly valid, sometimes
 * any JSON at all. `document` resolves `$ref`s (the schema itself when it carries its `$defs`, as
 * `z.toJSONSchema` writes them).
 */
export function payloadFor(document: JsonObject, schema: JsonObject = document): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: valueFor(document, schema) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
}

const queryText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** Requests for one operation; `basePath` is the document's server URL (e.g. `/api/v1`). */
export function requestsFor(
  document: JsonObject,
  entry: OperationEntry,
  basePath: string,
  samples: { pathValues?: string[] } = {},
): fc.Arbitrary<GeneratedRequest> {
  const parameters = ((entry.operation['parameters'] ?? []) as JsonObject[]).map((parameter) =>
    resolve(document, parameter),
  );
  const pathParameters = parameters.filter((parameter) => parameter['in'] === 'path');
  const queryParameters = parameters.filter((parameter) => parameter['in'] === 'query');
  const pathValues: Record<string, fc.Arbitrary<string>> = {};
  for (const parameter of pathParameters) {
    const fromSchema = valueFor(document, (parameter['schema'] ?? { type: 'string' }) as JsonObject).map(queryText);
    pathValues[parameter['name'] as string] = fc.oneof(
      fromSchema.filter((text) => text.length > 0),
      ...(samples.pathValues?.length ? [fc.constantFrom(...samples.pathValues)] : []),
    );
  }
  const queryValues: Record<string, fc.Arbitrary<unknown>> = {};
  for (const parameter of queryParameters) {
    queryValues[parameter['name'] as string] = valueFor(document, (parameter['schema'] ?? {}) as JsonObject);
  }
  const content = (resolve(document, (entry.operation['requestBody'] ?? {}) as JsonObject)['content'] ?? {}) as Record<
    string,
    JsonObject
  >;
  const bodySchema = content['application/json']?.['schema'] as JsonObject | undefined;
  const body: fc.Arbitrary<unknown> = bodySchema ? payloadFor(document, bodySchema) : fc.constant(undefined);
  return fc
    .record({
      path: fc.record(pathValues),
      query: fc.record(queryValues, { requiredKeys: [] }),
      body,
      authenticated: fc.oneof(
        { weight: 9, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
    })
    .map(({ path, query, body, authenticated }) => {
      const concrete = entry.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
        encodeURIComponent((path as Record<string, string>)[name] ?? 'x'),
      );
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, queryText(value));
      const url = `${basePath}${concrete}${search.size > 0 ? `?${search}` : ''}`;
      return { method: entry.method.toUpperCase(), url, body, authenticated };
    });
}

/** Every operation of the document, with its generator. */
export function operationGenerators(
  document: JsonObject,
  samples: { pathValues?: string[] } = {},
): Array<{ name: string; requests: fc.Arbitrary<GeneratedRequest> }> {
  const servers = (document['servers'] ?? [{ url: '' }]) as Array<{ url: string }>;
  const basePath = (servers[0]?.url ?? '').replace(/\/$/, '');
  return operationsOf(document).map((entry) => ({
    name: `${entry.method.toUpperCase()} ${entry.path}`,
    requests: requestsFor(document, entry, basePath, samples),
  }));
}
