import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one error type of the edge's HTTP layer; it knows how to become DESIGN §7's body.
 * Anything else reaching `onError` is a bug: logged, answered with a bare 500, no stack trace.
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details?: unknown,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  toResponse(c: Context): Response {
    for (const [name, value] of Object.entries(this.headers)) c.header(name, value);
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return c.json({ error }, this.status);
  }
}
