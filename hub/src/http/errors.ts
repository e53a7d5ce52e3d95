import { TRPCError } from '@trpc/server';
import { DomainError, type ErrorBody, type FieldIssue } from '@dovetail/shared';

type TrpcCode = TRPCError['code'];

const codeForStatus: Record<number, TrpcCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  428: 'PRECONDITION_REQUIRED',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

export const statusForCode: Record<TrpcCode, number> = {
  PARSE_ERROR: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
};

/**
 * The HTTP face of an error. Rules below `http/` throw {@link DomainError} values from
 * `@dovetail/shared` (a kind and a stable code, no status); this is where a kind becomes an HTTP
 * status, headers and a tRPC code, so REST and `/trpc` answer the same failure the same way. The
 * HTTP layer also raises its own (a missing token, a route that does not exist) directly.
 */
export class ApiError extends TRPCError {
  readonly status: number;
  readonly reason: string;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    reason: string,
    message: string,
    details?: unknown,
    headers: Record<string, string> = {},
    cause?: unknown,
  ) {
    super({ code: codeForStatus[status] ?? 'INTERNAL_SERVER_ERROR', message, cause });
    this.status = status;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  static fromDomain(error: DomainError): ApiError {
    const headers: Record<string, string> = {};
    if (error.kind === 'unauthenticated') headers['www-authenticate'] = challenge;
    if (error.code === 'insufficient_scope') headers['www-authenticate'] = `${challenge}, error="insufficient_scope"`;
    if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
    return new ApiError(error.status, error.code, error.message, error.details, headers, error);
  }
}

/** A thrown value as the ApiError it stands for, or undefined for a bug (an unexpected error). */
export function asApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return ApiError.fromDomain(error);
  if (error instanceof TRPCError && error.cause instanceof DomainError) return ApiError.fromDomain(error.cause);
  return undefined;
}

const challenge = 'Bearer realm="dovetail"';
export const unauthorized = (message = 'a valid bearer token is required') =>
  new ApiError(401, 'unauthorized', message, undefined, { 'www-authenticate': challenge });
export const insufficientScope = (message: string) =>
  new ApiError(403, 'insufficient_scope', message, undefined, {
    'www-authenticate': `${challenge}, error="insufficient_scope"`,
  });

type IssueLike = {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message: string;
  code?: string;
  keys?: string[];
};

/** Zod and Standard Schema issues alike, naming each field and never echoing rejected values. */
export function issuesToFields(issues: readonly IssueLike[]): FieldIssue[] {
  return issues.slice(0, 20).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' && issue.keys ? issue.keys : [];
    const segments = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment));
    const path = [...segments, ...(keys.length === 1 ? keys : [])].join('.') || '(body)';
    return { path, message: issue.message, code: issue.code ?? 'invalid' };
  });
}

function causeIssues(error: TRPCError): IssueLike[] | undefined {
  const cause = error.cause as { issues?: unknown } | undefined;
  return cause && Array.isArray(cause.issues) ? (cause.issues as IssueLike[]) : undefined;
}

/** Any error a procedure or adapter raised, as the body and status clients see. Never a stack. */
export function toErrorResponse(error: TRPCError): {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  const api = asApiError(error);
  if (api) {
    const body: ErrorBody = { error: { code: api.reason, message: api.message } };
    if (api.details !== undefined) body.error.details = api.details;
    return { status: api.status, body, headers: api.headers };
  }
  const status = statusForCode[error.code] ?? 500;
  const issues = causeIssues(error);
  if (error.code === 'BAD_REQUEST' && issues) {
    const fields = issuesToFields(issues);
    const names = fields.map((field) => field.path).join(', ');
    return {
      status: 400,
      body: { error: { code: 'invalid_input', message: `invalid input: ${names}`, details: { issues: fields } } },
      headers: {},
    };
  }
  const known: Partial<Record<TrpcCode, [string, string]>> = {
    PARSE_ERROR: ['invalid_json', 'the request body is not valid JSON'],
    BAD_REQUEST: ['bad_request', 'bad request'],
    NOT_FOUND: ['not_found', 'no such route'],
    METHOD_NOT_SUPPORTED: ['method_not_allowed', 'method not allowed'],
    UNSUPPORTED_MEDIA_TYPE: ['unsupported_media_type', 'send content-type: application/json'],
    PAYLOAD_TOO_LARGE: ['payload_too_large', 'request body too large'],
    UNAUTHORIZED: ['unauthorized', 'a valid bearer token is required'],
    FORBIDDEN: ['forbidden', 'forbidden'],
    TOO_MANY_REQUESTS: ['rate_limited', 'too many requests'],
  };
  const [code, message] = known[error.code] ?? ['internal', 'internal error'];
  return {
    status,
    body: { error: { code, message } },
    headers: status === 401 ? { 'www-authenticate': challenge } : {},
  };
}
