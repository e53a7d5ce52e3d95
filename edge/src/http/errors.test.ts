import { DomainError, type ErrorKind, commonErrorCodes, statusOfErrorKind } from '@dovetail/shared';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { refusalAnswer } from '../services/idempotency.ts';
import { errorResponse, internalErrorResponse } from './errors.ts';

/** A one-route app that throws `error` and answers it the way the edge's onError does. */
function appThrowing(error: unknown) {
  const app = new Hono();
  app.get('/', () => {
    throw error;
  });
  app.onError((caught, c) => (caught instanceof DomainError ? errorResponse(c, caught) : internalErrorResponse(c)));
  return app;
}

describe("the edge's HTTP errors", () => {
  it('answer every kind with the status of the shared table and the shared body', async () => {
    for (const kind of Object.keys(statusOfErrorKind) as ErrorKind[]) {
      const response = await appThrowing(new DomainError(kind, `rule_${kind}`, 'why', { sku: 'A' })).request('/');
      expect(response.status, kind).toBe(statusOfErrorKind[kind]);
      expect(await response.json()).toEqual({ error: { code: `rule_${kind}`, message: 'why', details: { sku: 'A' } } });
    }
  });

  it('send a refusal exactly as a stored one is replayed', async () => {
    const refusal = new DomainError('conflict', 'insufficient_on_hand', 'only 2 on hand', { sku: 'A' });
    const response = await appThrowing(refusal).request('/');
    const stored = refusalAnswer(refusal);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: stored.status,
      body: stored.body,
    });
  });

  it('challenge a 401 as RFC 6750 says, and give Retry-After when a retry may succeed', async () => {
    const missing = new DomainError('unauthenticated', commonErrorCodes.unauthorized, 'sign in');
    expect((await appThrowing(missing).request('/')).headers.get('www-authenticate')).toBe(
      'Bearer realm="dovetail-edge"',
    );
    const sent = await appThrowing(missing).request('/', { headers: { authorization: 'Bearer forged' } });
    expect(sent.headers.get('www-authenticate')).toBe('Bearer realm="dovetail-edge", error="invalid_token"');
    const inQuery = new DomainError('unauthenticated', commonErrorCodes.tokenInQuery, 'not in the URL');
    expect((await appThrowing(inQuery).request('/')).headers.get('www-authenticate')).toBe(
      'Bearer realm="dovetail-edge", error="invalid_request"',
    );
    const locked = new DomainError('rate_limited', 'too_many_attempts', 'wait', undefined, { retryAfterSeconds: 30 });
    const response = await appThrowing(locked).request('/');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.headers.get('www-authenticate')).toBeNull();
  });

  it('answer anything else with a bare 500 in the shared words, never the stack', async () => {
    const response = await appThrowing(new Error('secret internals at line 42')).request('/');
    expect(response.status).toBe(500);
    const body = await response.json();
    expect(body).toEqual({ error: { code: commonErrorCodes.internal, message: expect.any(String) } });
    expect(JSON.stringify(body)).not.toContain('secret internals');
  });
});
