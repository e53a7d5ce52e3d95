import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.ts';
import { appRouter } from './root.ts';
import { OpenApiResponseValidator } from '@dovetail/shared/openapi-check';

const json = (extra: Record<string, string> = {}) => new Headers({ 'content-type': 'application/json', ...extra });
const product = {
  id: '0190f5a0-0000-7000-8000-000000000001',
  name: 'Oslo',
  category: 'sofa',
};

describe('the OpenAPI response check the test harness runs on every /api/v1 response', () => {
  const validator = new OpenApiResponseValidator(openApiDocument(appRouter));

  it('accepts the documented error envelope and refuses the shape the generator used to document', () => {
    const envelope = { error: { code: 'not_found', message: 'no such product' } };
    expect(validator.check('GET', '/api/v1/products/x', 404, json(), envelope)).toBeUndefined();
    expect(validator.check('GET', '/api/v1/products/x', 404, json(), { message: 'no', code: 'NOT_FOUND' })).toMatch(
      /body does not match/,
    );
  });

  it('refuses an undocumented status, an undocumented header and a body missing required fields', () => {
    expect(validator.check('GET', '/api/v1/products', 201, json(), { items: [], nextCursor: null })).toMatch(
      /status 201 is not documented/,
    );
    expect(
      validator.check('GET', '/api/v1/products', 200, json({ location: '/x' }), { items: [], nextCursor: null }),
    ).toMatch(/header\(s\) location not documented/);
    expect(validator.check('GET', '/api/v1/products', 200, json(), { items: [product], nextCursor: null })).toMatch(
      /body does not match/,
    );
  });

  it('lets the 404 of an unknown path and the 405 of an undocumented method through, and nothing else', () => {
    const notFound = { error: { code: 'not_found', message: 'no route' } };
    expect(validator.check('GET', '/api/v1/nowhere', 404, json(), notFound)).toBeUndefined();
    expect(validator.check('GET', '/api/v1/nowhere', 200, json(), {})).toMatch(/no documented path/);
    expect(validator.check('PATCH', '/api/v1/products', 405, json({ allow: 'GET, POST' }), notFound)).toBeUndefined();
    expect(validator.check('PATCH', '/api/v1/products', 200, json(), {})).toMatch(/documented on none/);
    expect(validator.check('GET', '/healthz', 200, json(), { anything: true })).toBeUndefined();
  });
});
