import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

/**
 * What every edge bench sends: durable receives at `baseUrl`, a distinct one per request (the SKUs in
 * rotation, varied quantities, a fresh Idempotency-Key each). The returned function runs autocannon
 * with the options given (connections, duration or amount, overallRate, timeout) and can be called
 * again: keys never repeat within one driver.
 */
export function receiveScans(baseUrl: string, token: string, skus: readonly string[], keyPrefix: string) {
  const runTag = randomUUID().slice(0, 8);
  let sent = 0;
  return (options: Omit<autocannon.Options, 'url' | 'headers' | 'requests'>): Promise<autocannon.Result> =>
    autocannon({
      url: baseUrl,
      timeout: 10,
      ...options,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          path: '/api/v1/stock/receive',
          setupRequest: (request) => {
            sent++;
            return {
              ...request,
              headers: { ...request.headers, 'idempotency-key': `${keyPrefix}-${runTag}-${sent}` },
              body: JSON.stringify({
                sku: skus[sent % skus.length],
                quantity: 1 + (sent % 7),
                reference: `${keyPrefix}-${sent}`,
              }),
            };
          },
        },
      ],
    });
}
