import { z } from 'zod';

/**
 * The one error body every Dovetail process returns: `{error: {code, message, details?}}`.
 * Codes are stable: clients branch on them, so they are never renamed once shipped.
 */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export type FieldIssue = { path: string; message: string; code: string };

/**
 * Turns zod issues into details that name each field, never echoing the rejected values. Unknown
 * keys are named one issue each (zod reports several in one issue, which would name no field).
 */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues
    .flatMap((issue): FieldIssue[] => {
      const path = issue.path.map(String);
      if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
        return issue.keys.map((key) => ({
          path: [...path, key].join('.'),
          message: issue.keys.length === 1 ? issue.message : `Unrecognized key: "${key}"`,
          code: issue.code,
        }));
      }
      return [{ path: path.join('.') || '(body)', message: issue.message, code: issue.code }];
    })
    .slice(0, 20);
}

/**
 * What kind of failure a rule reports, independent of the transport. The HTTP layers of the hub
 * and the edge map a kind to a status with {@link statusOfErrorKind}; nothing below them chooses
 * a status or imports an HTTP library.
 */
export const statusOfErrorKind = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, number>;
export type ErrorKind = keyof typeof statusOfErrorKind;

/**
 * An expected failure, as a value: a rule was broken (`code`, named after the rule and never
 * renamed once shipped), of a `kind` the transport maps to a status. Programmer errors are
 * assertions, not DomainErrors.
 */
export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: unknown;
  /** For `rate_limited` and `unavailable`: when a retry may succeed (becomes Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    details?: unknown,
    options: { retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return statusOfErrorKind[this.kind];
  }
}

export const notFound = (what: string, details?: unknown) =>
  new DomainError('not_found', 'not_found', `${what} not found`, details);
export const conflict = (code: string, message: string, details?: unknown) =>
  new DomainError('conflict', code, message, details);
export const badRequest = (code: string, message: string, details?: unknown) =>
  new DomainError('invalid_input', code, message, details);
export const unprocessable = (code: string, message: string, details?: unknown) =>
  new DomainError('unprocessable', code, message, details);
export const forbidden = (message: string, code = 'forbidden') => new DomainError('forbidden', code, message);
export const unauthenticated = (message = 'a valid bearer token is required', code = 'unauthorized') =>
  new DomainError('unauthenticated', code, message);

/**
 * The codes both HTTP layers answer for failures no rule names: the same words on the edge and
 * the hub, so a client handles them once.
 */
export const commonErrorCodes = {
  invalidInput: 'invalid_input',
  invalidJson: 'invalid_json',
  internal: 'internal',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unauthorized: 'unauthorized',
  tokenInQuery: 'token_in_query',
  rateLimited: 'rate_limited',
} as const;
