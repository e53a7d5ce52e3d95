import { limits } from '@dovetail/shared';
import type { SendOutcome } from './outcome.ts';
import type { SmsSettings } from './settings.ts';

export type OutgoingSms = {
  to: string;
  body: string;
  /** The notification's id: sent as `Idempotency-Key` for providers that deduplicate by it. */
  reference: string;
};

/**
 * Sends text messages. One implementation here (an HTTP API in Twilio's shape); push would be another
 * channel with its own interface, and is not built: customers have no device tokens in the data model.
 */
export interface SmsProvider {
  send(sms: OutgoingSms): Promise<SendOutcome>;
}

/**
 * A Twilio-style API: `POST <url>/Messages.json`, form fields `To`, `From`, `Body`, HTTP Basic
 * `user:secret`. The URL is the operator's, not user input, but redirects are still not followed (a
 * 3xx is a failed attempt) and each attempt has a timeout. 2xx is sent (the answer's `sid` kept);
 * 429 and 5xx are retried (honouring Retry-After); any other 4xx is a permanent refusal.
 */
export class HttpSmsProvider implements SmsProvider {
  readonly #endpoint: string;
  readonly #authorization: string;
  readonly #from: string;
  readonly #timeoutMs: number;

  constructor(settings: SmsSettings, timeoutMs: number) {
    this.#endpoint = `${settings.url.replace(/\/+$/, '')}/Messages.json`;
    this.#authorization = `Basic ${Buffer.from(settings.auth, 'utf8').toString('base64')}`;
    this.#from = settings.from;
    this.#timeoutMs = timeoutMs;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    let response: Response;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'idempotency-key': sms.reference,
        },
        body: new URLSearchParams({ To: sms.to, From: this.#from, Body: sms.body }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      const message = name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : (error as Error).message;
      return { ok: false, permanent: false, error: `SMS provider unreachable: ${message}`.slice(0, 500) };
    }
    const text = await readBounded(response);
    const status = response.status;
    if (status >= 200 && status < 300) {
      let reference: string | null = null;
      try {
        const sid = (JSON.parse(text) as { sid?: unknown }).sid;
        if (typeof sid === 'string') reference = sid.slice(0, 100);
      } catch {
        // an answer that is not JSON still means accepted
      }
      return { ok: true, reference };
    }
    const error = `SMS provider answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`.slice(
      0,
      limits.notificationErrorLengthMax,
    );
    if (status >= 300 && status < 400)
      return { ok: false, permanent: false, error: `${error} (redirect not followed)` };
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'));
    if (status === 429 || status >= 500) return { ok: false, permanent: false, error, retryAfterMs };
    return { ok: false, permanent: true, error };
  }
}

/** The start of the answer, at most `smsProviderResponseBytesMax` bytes read. */
async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limits.smsProviderResponseBytesMax) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // a broken answer body: what came is enough
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limits.smsProviderResponseBytesMax).toString('utf8');
}

function retryAfterOf(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(ms, 12 * 3_600_000);
}
