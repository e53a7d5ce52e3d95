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

/** Turns zod issues into details that name each field, never echoing the rejected values. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.slice(0, 20).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...issue.path.map(String), ...(keys.length === 1 ? keys : [])].join('.') || '(body)';
    return { path, message: issue.message, code: issue.code };
  });
}
