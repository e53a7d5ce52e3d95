import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';

describe('the edge publishes its own OpenAPI document and reference', () => {
  let edge: TestEdge;
  beforeAll(async () => {
    edge = await startTestEdge();
  });
  afterAll(async () => {
    await stopTestEdge(edge);
  });

  it('serves /api/v1/openapi.json without a token, documenting every /api/v1 route the edge serves', async () => {
    const response = await edge.call('GET', '/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      servers: unknown;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: '/api/v1' }]);
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} /api/v1${path}`),
      ),
    );
    const served = edge.app.routes
      .filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/v1/') && !route.path.endsWith('*'))
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(20);
    for (const route of served) expect(documented, route).toContain(route);
    for (const route of documented) expect(served, route).toContain(route);
    // Request bodies come from the zod schemas the routes validate with.
    const receive = document.paths['/stock/receive']?.['post']?.requestBody as {
      content: { 'application/json': { schema: { required: string[]; additionalProperties: boolean } } };
    };
    expect(receive.content['application/json'].schema.required).toEqual(expect.arrayContaining(['sku', 'quantity']));
    expect(receive.content['application/json'].schema.additionalProperties).toBe(false);
  });

  it('serves /docs from its own files: no CDN, no inline script, no framing', async () => {
    const docs = await edge.call('GET', '/docs');
    expect(docs.status).toBe(200);
    const page = await docs.text();
    expect(page).toContain('/docs/swagger-ui-bundle.js');
    expect(page).not.toMatch(/https?:\/\//);
    expect(docs.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const bundle = await edge.call('GET', '/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await edge.call('GET', '/docs/init.js')).status).toBe(200);
    expect((await edge.call('GET', '/docs/package.json')).status).toBe(404);
  });
});
