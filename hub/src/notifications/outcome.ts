/** What one attempt to hand a message to a provider (SMTP server, SMS API) came to. */
export type SendOutcome =
  | { ok: true; reference: string | null }
  | {
      ok: false;
      /** Refused for good (SMTP 5xx, an SMS API's 4xx): retrying would get the same answer. */
      permanent: boolean;
      error: string;
      /** The provider asked to wait this long (429/503 Retry-After). */
      retryAfterMs?: number | undefined;
    };
