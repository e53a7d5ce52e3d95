import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';

let edge: TestEdge;
beforeEach(async () => {
  edge = await startTestEdge();
});
afterEach(async () => {
  await stopTestEdge(edge);
});

describe('security headers on edge responses', () => {
  it('sends nosniff on every answer and keeps API answers out of caches', async () => {
    const token = await edge.login();
    const answers = [
      await edge.call('GET', '/healthz'),
      await edge.call('GET', '/api/v1/stock', { token }),
      await edge.call('GET', '/api/v1/stock'),
      await edge.call('GET', '/nowhere'),
      await edge.call('POST', '/api/v1/login', { body: { username: 'lead', password: 'wrong-password' } }),
    ];
    for (const answer of answers) expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    for (const answer of answers.slice(1, 3)) expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answers[4]?.headers.get('cache-control')).toBe('no-store');
  });
});
