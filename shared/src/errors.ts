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
