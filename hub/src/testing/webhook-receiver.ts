import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A real HTTP receiver on loopback for webhook tests: it verifies every request with the
 * `standardwebhooks` package (as a partner would) against each secret it is told, records what came,
 * and counts requests in flight per `webhook-id` (a delivery sent twice at once shows as 2).
 */
export type ReceivedWebhook = {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read payloads loosely and assert on them
  data: any;
  /** Per secret given to the receiver: whether the request verified with it. */
  verifiedWith: boolean[];
  receivedAtMs: number;
};

export type Answer = {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  hang?: boolean;
  delayMs?: number;
};

export class TestReceiver {
  readonly received: ReceivedWebhook[] = [];
  secrets: string[] = [];
  /** How to answer the n-th request (0-based) for a webhook-id; default 200. */
  answer: (request: ReceivedWebhook, nth: number) => Answer = () => ({ status: 200 });
  maxInFlightPerId = 0;
  readonly #inFlight = new Map<string, number>();
  readonly #seen = new Map<string, number>();
  readonly #hanging = new Set<http.ServerResponse>();
  readonly #waiters: Array<() => void> = [];
  #server: http.Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    this.#server = http.createServer((request, response) => this.#handle(request, response));
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** Resolves once `predicate` holds over what was received (checked at each request), or rejects after `timeoutMs`. */
  async waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) {
        throw new Error(`receiver: condition not met within ${timeoutMs} ms (${this.received.length} requests)`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  of(type: string): ReceivedWebhook[] {
    return this.received.filter((entry) => entry.type === type);
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(request.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = this.secrets.map((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      let parsed: { type?: string; data?: unknown } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        // recorded as is
      }
      const entry: ReceivedWebhook = {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body,
        type: parsed.type ?? '',
        data: parsed.data,
        verifiedWith,
        receivedAtMs: Date.now(),
      };
      const inFlight = (this.#inFlight.get(entry.id) ?? 0) + 1;
      this.#inFlight.set(entry.id, inFlight);
      this.maxInFlightPerId = Math.max(this.maxInFlightPerId, inFlight);
      const nth = this.#seen.get(entry.id) ?? 0;
      this.#seen.set(entry.id, nth + 1);
      this.received.push(entry);
      for (const wake of this.#waiters.splice(0)) wake();
      const answer = this.answer(entry, nth);
      const finish = () => {
        this.#inFlight.set(entry.id, (this.#inFlight.get(entry.id) ?? 1) - 1);
        response.writeHead(answer.status, answer.headers ?? {});
        response.end(answer.body ?? '');
      };
      if (answer.hang) {
        this.#hanging.add(response);
        response.on('close', () => this.#inFlight.set(entry.id, (this.#inFlight.get(entry.id) ?? 1) - 1));
        return;
      }
      if (answer.delayMs) setTimeout(finish, answer.delayMs);
      else finish();
    });
  }
}
