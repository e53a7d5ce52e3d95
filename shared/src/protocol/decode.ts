import { z } from 'zod';
import * as limits from '../limits.ts';
import { fieldIssues } from '../errors.ts';
import { type DownstreamMessage, downstreamMessageSchema } from './downstream.ts';
import { type UpstreamMessage, upstreamMessageSchema } from './upstream.ts';

export type DecodeResult<T> =
  | { ok: true; message: T }
  | { ok: false; reason: 'too_large' | 'not_json' | 'invalid'; detail: string };

/**
 * A change of a known kind whose payload is wrong fails both alternatives of the change union; the
 * first (the known kinds) names the field, the second only says the kind is known.
 */
function firstAlternative(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  const first = issue.code === 'invalid_union' ? issue.errors[0] : undefined;
  if (!first || first.length === 0) return [issue];
  return first.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** Bounds, parses and validates one frame; a failure means the socket closes with 4400. */
function decode<T>(frame: string, schema: z.ZodType<T>): DecodeResult<T> {
  if (frame.length > limits.syncFrameBytesMax) {
    return {
      ok: false,
      reason: 'too_large',
      detail: `frame of ${frame.length} bytes exceeds ${limits.syncFrameBytesMax}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return { ok: false, reason: 'not_json', detail: 'frame is not JSON' };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = fieldIssues(new z.ZodError(result.error.issues.flatMap(firstAlternative))).slice(0, 3);
    return {
      ok: false,
      reason: 'invalid',
      detail: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
    };
  }
  return { ok: true, message: result.data };
}

export const decodeUpstream = (frame: string): DecodeResult<UpstreamMessage> => decode(frame, upstreamMessageSchema);
export const decodeDownstream = (frame: string): DecodeResult<DownstreamMessage> =>
  decode(frame, downstreamMessageSchema);
