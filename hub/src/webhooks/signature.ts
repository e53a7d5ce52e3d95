import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { limits } from '@dovetail/shared';

/**
 * Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
 * keyed with the bytes behind the endpoint's `whsec_` secret. Several signatures (during a secret
 * rotation) are sent space-separated; a receiver accepts the request if any one verifies.
 */
const secretPrefix = 'whsec_';

export function newWebhookSecret(): string {
  return `${secretPrefix}${randomBytes(limits.webhookSecretBytes).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret, 'base64');
  if (key.length < 24) throw new Error('a webhook secret carries at least 24 bytes');
  return key;
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` value: one `v1,…` per secret, space-separated. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets.map((secret) => signWebhook(secret, id, timestampSeconds, body)).join(' ');
}

/** Whether one of the header's signatures is `secret`'s (constant-time compare). For tests and tools. */
export function signatureMatches(
  header: string,
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): boolean {
  const expected = Buffer.from(signWebhook(secret, id, timestampSeconds, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
