import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commonComponents, errorResponses, jsonSchemaOf, nameSchemas, successResponse } from './document.ts';
import { OpenApiResponseValidator } from './response-check.ts';

const thing = z.object({ id: z.string(), quantity: z.int().min(0) });
const json = (extra: Record<string, string> = {}) => new Headers({ 'content-type': 'application/json', ...extra });

function document() {
  const doc: Record<string, unknown> = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    servers: [{ url: '/api/v1' }],
    paths: {
      '/things/{id}': {
        get: {
          responses: {
            '200': successResponse('OK', jsonSchemaOf(thing), ['ETag']),
            ...errorResponses([401, 404]),
          },
        },
      },
      '/things/special': { get: { responses: { '200': successResponse('OK', { type: 'object' }, []) } } },
    },
    components: commonComponents(),
  };
  nameSchemas(doc, { Thing: jsonSchemaOf(thing) });
  return doc;
}

describe('the OpenAPI response check the test harnesses run on every /api/v1 response', () => {
  const validator = new OpenApiResponseValidator(document());

  it('accepts a documented status, header and body, through a named schema', () => {
    expect(validator.check('GET', '/api/v1/things/a', 200, json({ etag: '"1"' }), { id: 'a', quantity: 1 })).toBe(
      undefined,
    );
  });

  it('accepts the error envelope and refuses any other error shape', () => {
    const envelope = { error: { code: 'not_found', message: 'no such thing' } };
    expect(validator.check('GET', '/api/v1/things/a', 404, json(), envelope)).toBeUndefined();
    expect(validator.check('GET', '/api/v1/things/a', 404, json(), { message: 'no', code: 'NOT_FOUND' })).toMatch(
      /body does not match/,
    );
  });

  it('refuses an undocumented status, an undocumented header and a body off the schema', () => {
    expect(validator.check('GET', '/api/v1/things/a', 201, json(), {})).toMatch(/status 201 is not documented/);
    expect(validator.check('GET', '/api/v1/things/a', 200, json({ location: '/x' }), { id: 'a', quantity: 1 })).toMatch(
      /header\(s\) location not documented/,
    );
    expect(validator.check('GET', '/api/v1/things/a', 200, json(), { id: 'a', quantity: -1 })).toMatch(
      /body does not match/,
    );
  });

  it('prefers the literal path over a template, and passes 404s of unknown paths and 405s of other methods', () => {
    expect(validator.check('GET', '/api/v1/things/special', 200, json(), { any: 1 })).toBeUndefined();
    expect(validator.check('GET', '/api/v1/nowhere', 404, json(), {})).toBeUndefined();
    expect(validator.check('GET', '/api/v1/nowhere', 200, json(), {})).toMatch(/no documented path/);
    expect(validator.check('DELETE', '/api/v1/things/a', 405, json({ allow: 'GET' }), {})).toBeUndefined();
    expect(validator.check('DELETE', '/api/v1/things/a', 200, json(), {})).toMatch(/documented on none/);
    expect(validator.check('GET', '/healthz', 200, json(), { anything: true })).toBeUndefined();
  });
});
