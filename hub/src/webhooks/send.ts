import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { limits } from '@dovetail/shared';
import { AddressRefusedError, guardedLookup, hostPort, refusedAddressReason } from './address-guard.ts';

export type AttemptRequest = {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  /** `host:port` entries the guard lets through (`HUB_WEBHOOK_ALLOW_HOSTS`). */
  allowHosts?: readonly string[];
  agents: WebhookAgents;
};

export type AttemptResult = {
  /** The receiver's status, or null when none came (refused, unreachable, timed out). */
  statusCode: number | null;
  ok: boolean;
  latencyMs: number;
  error: string | null;
  /** The start of the answer (at most `webhookResponseBytesKeptMax`). */
  responseBody: string | null;
  /** A `Retry-After` the receiver sent, in ms, bounded by `webhookRetryAfterMsMax`. */
  retryAfterMs: number | undefined;
  /** The receiver said the endpoint is gone for good (410): disable it. */
  gone: boolean;
};

export type WebhookAgents = {
  http: http.Agent;
  https: https.Agent;
  /** For the hosts `HUB_WEBHOOK_ALLOW_HOSTS` lets through: the same pools without the guard. */
  allowed: { http: http.Agent; https: https.Agent };
};

/**
 * Keep-alive agents for a worker's attempts (one connection pool per host, at most the per-endpoint
 * bound of sockets each), with the guarded lookup: a new connection is made only to an address the
 * guard checked. A reused connection was checked when it was opened. `destroy()` them at shutdown.
 */
export function createAgents(allowPrivate: boolean): WebhookAgents {
  const options = {
    keepAlive: true,
    maxSockets: limits.webhookInFlightPerEndpointMax,
    lookup: guardedLookup(allowPrivate) as never,
  };
  const open = { keepAlive: true, maxSockets: limits.webhookInFlightPerEndpointMax };
  return {
    http: new http.Agent(options),
    https: new https.Agent(options),
    allowed: { http: new http.Agent(open), https: new https.Agent(open) },
  };
}

/**
 * One delivery attempt: POST the body with the signed headers, within `timeoutMs` for everything
 * (connect, send, answer), reading at most `webhookResponseBytesReadMax` of the answer. Redirects
 * are not followed: a 3xx is a failed attempt. Never throws.
 */
export function sendAttempt(request: AttemptRequest): Promise<AttemptResult> {
  const started = performance.now();
  const finish = (partial: Partial<AttemptResult> & { statusCode: number | null; error: string | null }) => ({
    ok: false,
    responseBody: null,
    retryAfterMs: undefined,
    gone: false,
    ...partial,
    latencyMs: Math.round(performance.now() - started),
  });
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return Promise.resolve(finish({ statusCode: null, error: 'not a URL' }));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve(finish({ statusCode: null, error: `scheme ${url.protocol} refused` }));
  }
  // A literal address never goes through the lookup: check it here.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const allowed = !request.allowPrivate && (request.allowHosts ?? []).includes(hostPort(url));
  if (!request.allowPrivate && !allowed && net.isIP(host)) {
    const reason = refusedAddressReason(host);
    if (reason) return Promise.resolve(finish({ statusCode: null, error: `address refused: ${reason}` }));
  }
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const pair = allowed ? request.agents.allowed : request.agents;
    const client = url.protocol === 'https:' ? https : http;
    const outgoing = client.request(
      url,
      {
        method: 'POST',
        agent: url.protocol === 'https:' ? pair.https : pair.http,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': 'Dovetail-Webhooks/1',
        },
      },
      (response) => {
        const statusCode = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let read = 0;
        const done = () => {
          const text = Buffer.concat(chunks).subarray(0, limits.webhookResponseBytesKeptMax).toString('utf8');
          const ok = statusCode >= 200 && statusCode < 300;
          settle(
            finish({
              statusCode,
              ok,
              error: ok
                ? null
                : statusCode >= 300 && statusCode < 400
                  ? `redirect (${statusCode}) not followed`
                  : `HTTP ${statusCode}`,
              responseBody: text.length > 0 ? text : null,
              retryAfterMs: ok ? undefined : parseRetryAfter(response.headers['retry-after'], Date.now()),
              gone: statusCode === 410,
            }),
          );
        };
        response.on('data', (chunk: Buffer) => {
          if (read < limits.webhookResponseBytesReadMax) chunks.push(chunk);
          read += chunk.length;
          if (read >= limits.webhookResponseBytesReadMax) {
            // Enough: the rest of a large answer is not read (the connection is dropped, not reused).
            response.destroy();
            done();
          }
        });
        response.on('end', done);
        response.on('error', done);
        response.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const refused = error instanceof AddressRefusedError;
      settle(
        finish({
          statusCode: null,
          error: (refused ? `address refused: ${error.message}` : error.message || String(error.code)).slice(
            0,
            limits.webhookErrorLengthMax,
          ),
        }),
      );
    });
    outgoing.end(request.body);
  });
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now, bounded; undefined when absent or malformed. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  let delayMs: number;
  if (/^\d+$/.test(text.trim())) delayMs = Number(text.trim()) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    delayMs = at - nowMs;
  }
  return Math.min(Math.max(delayMs, 0), limits.webhookRetryAfterMsMax);
}
