import { limits } from '@dovetail/shared';
import { unwrapPrivateKey, wrapPrivateKey } from '../identity/key-wrap.ts';

/** How this hub delivers webhooks: from configuration (`HUB_WEBHOOK_*`), tests shorten the clocks. */
export type WebhookSettings = {
  /** `HUB_WEBHOOK_ALLOW_PRIVATE=1`: allow loopback and private addresses (a LAN partner, tests). */
  allowPrivate: boolean;
  /**
   * `HUB_WEBHOOK_ALLOW_HOSTS`: `host:port` entries let through the address guard while it stays on for
   * everything else (one partner on the LAN, a test's receiver on loopback). Scheme and credential
   * rules still apply.
   */
  allowHosts: readonly string[];
  /** `HUB_WEBHOOK_TIMEOUT_MS`: one attempt, connect to answer. */
  attemptTimeoutMs: number;
  /** `HUB_WEBHOOK_DISABLE_AFTER_MS`: an endpoint failing every attempt this long is disabled. */
  disableAfterMs: number;
  /** Delay before each attempt (the first is 0). */
  retryScheduleMs: readonly number[];
  /** How often the worker looks for due deliveries when nothing wakes it. */
  pollIntervalMs: number;
  /** Seals endpoint secrets at rest (`HUB_KEY_ENCRYPTION_KEY`), as it seals the token signing keys. */
  keyEncryptionKey: Buffer | undefined;
};

export const defaultWebhookSettings: WebhookSettings = {
  allowPrivate: false,
  allowHosts: [],
  attemptTimeoutMs: limits.webhookAttemptTimeoutMsDefault,
  disableAfterMs: limits.webhookDisableAfterMsDefault,
  retryScheduleMs: limits.webhookRetryScheduleMs,
  pollIntervalMs: limits.webhookPollIntervalMs,
  keyEncryptionKey: undefined,
};

/** An endpoint's secret as stored: sealed with the key-encryption key when there is one, the endpoint id bound in. */
export function sealSecret(secret: string, endpointId: string, settings: WebhookSettings): string {
  return settings.keyEncryptionKey
    ? wrapPrivateKey(secret, `webhook:${endpointId}`, settings.keyEncryptionKey)
    : secret;
}

export function openSecret(stored: string, endpointId: string, settings: WebhookSettings): string {
  return unwrapPrivateKey(stored, `webhook:${endpointId}`, settings.keyEncryptionKey);
}
