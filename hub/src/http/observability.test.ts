import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hub, createHub } from '../hub.ts';
import { call, sofa } from '../testing/harness.ts';

/** JSON logs carry the request id on every line about a request, including errors. */
describe('request ids and logs', () => {
  const lines: Array<Record<string, unknown>> = [];
  let hub: Hub;
  let token: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret: 'log-admin-secret-0123456',
      logger: pino({ level: 'info' }, sink),
    });
    const response = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=admin&client_secret=log-admin-secret-0123456',
    });
    token = ((await response.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('echoes a well-formed x-request-id and mints one otherwise', async () => {
    const echoed = await call(hub, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const minted = await call(hub, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request with the route template, and the id on an error line, never the token', async () => {
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('LOG-ERR') })).status).toBe(201);
    await hub.storage.db.schema.dropTable('variants').execute();
    const failed = await call(hub, 'GET', '/api/v1/products', { token, headers: { 'x-request-id': 'trace-500' } });
    expect(failed.status).toBe(500);
    const mine = lines.filter((line) => line['reqId'] === 'trace-500');
    expect(mine.some((line) => line['level'] === 50 && typeof line['err'] === 'object')).toBe(true);
    expect(
      mine.some((line) => line['msg'] === 'request' && line['route'] === '/api/v1/products' && line['status'] === 500),
    ).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
