import { limits } from '@dovetail/shared';

/** The SMS provider (`HUB_SMS_URL`, `HUB_SMS_AUTH`, `HUB_SMS_FROM`): operator-configured, never user input. */
export type SmsSettings = {
  /** The provider's account base URL; messages are POSTed to `<url>/Messages.json` (Twilio's shape). */
  url: string;
  /** `user:secret`, sent as HTTP Basic. */
  auth: string;
  /** The sender number or id. */
  from: string;
};

/** How this hub sends customer notifications: from configuration, tests shorten the clocks. */
export type NotificationSettings = {
  /** `HUB_SMTP_URL` (`smtp://user:pass@host:port`, `smtps://…`); unset: e-mails are recorded `skipped`. */
  smtpUrl: string | undefined;
  /** `HUB_MAIL_FROM`: the sender, e.g. `"Nordhaus <orders@nordhaus.example>"`. */
  mailFrom: string | undefined;
  /** Unset: text messages are recorded `skipped`. */
  sms: SmsSettings | undefined;
  /** `HUB_FEEDBACK_DELAY_MS`: the feedback e-mail waits this long after delivery. */
  feedbackDelayMs: number;
  /** Delay before each attempt (the first is 0); past the last, the notification has failed. */
  retryScheduleMs: readonly number[];
  /** One attempt's bound (SMTP connect, greeting and each reply; the SMS provider's answer). */
  attemptTimeoutMs: number;
  /** How often the worker looks for due notifications when nothing wakes it. */
  pollIntervalMs: number;
};

export const defaultNotificationSettings: NotificationSettings = {
  smtpUrl: undefined,
  mailFrom: undefined,
  sms: undefined,
  feedbackDelayMs: limits.feedbackDelayMsDefault,
  retryScheduleMs: limits.notificationRetryScheduleMs,
  attemptTimeoutMs: limits.notificationAttemptTimeoutMs,
  pollIntervalMs: limits.notificationPollIntervalMs,
};

/** A URL for logs: scheme, host and port, never the credentials. */
export function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparsable URL)';
  }
}
