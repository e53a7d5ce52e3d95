import {
  DomainError,
  badRequest,
  commonErrorCodes,
  cursorKey,
  fieldIssues,
  idempotencyKeySchema,
  invalidIdempotencyKey,
  opaqueCursor,
} from '@dovetail/shared';
import type { Context } from 'hono';
import type { z } from 'zod';

/** Reads a JSON body (415 for another content type, 400 for broken JSON) and validates it strictly. */
export async function jsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<{ value: z.infer<S>; raw: string }> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new DomainError(
      'unsupported_media_type',
      commonErrorCodes.unsupportedMediaType,
      'send the body as JSON with content-type: application/json',
    );
  }
  const raw = await c.req.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(commonErrorCodes.invalidJson, 'the body is not valid JSON');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issues = fieldIssues(result.error);
    const fields = [...new Set(issues.map((issue) => issue.path))].join(', ');
    throw badRequest(commonErrorCodes.invalidInput, `invalid field(s): ${fields}`, { issues });
  }
  return { value: result.data, raw };
}

/** Validates query parameters with the same rules and error shape. */
export function queryParams<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    const issues = fieldIssues(result.error);
    const fields = issues.map((issue) => issue.path).join(', ');
    throw badRequest(commonErrorCodes.invalidInput, `invalid query parameter(s): ${fields}`, { issues });
  }
  return result.data;
}

export function idempotencyKey(c: Context): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!idempotencyKeySchema.safeParse(key).success) throw invalidIdempotencyKey();
  return key;
}

/** Opaque, URL-safe page cursors (shared/cursor.ts) over a JSON key; a tampered cursor is a 400, never a crash. */
export function encodeCursor(value: unknown): string {
  return opaqueCursor(JSON.stringify(value));
}

export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  const key = cursorKey(cursor);
  try {
    const result = key === undefined ? undefined : schema.safeParse(JSON.parse(key));
    if (result?.success) return result.data;
  } catch {
    // fall through
  }
  throw badRequest('invalid_cursor', 'the cursor is not one this edge issued; start again without it');
}
