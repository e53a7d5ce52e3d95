import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorBodySchema, fieldIssues } from './errors.ts';

function issuesFor(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the input to be refused');
  return fieldIssues(result.error);
}

const body = z.strictObject({
  sku: z.string().min(1),
  lines: z.array(z.strictObject({ quantity: z.int().min(1) })),
});

describe('fieldIssues', () => {
  it('names a nested field by its dotted path', () => {
    expect(issuesFor(body, { sku: 'A', lines: [{ quantity: 1 }, { quantity: 0 }] })).toEqual([
      { path: 'lines.1.quantity', code: 'too_small', message: expect.any(String) },
    ]);
  });

  it('names a single unknown key as the field it would be', () => {
    expect(issuesFor(body, { sku: 'A', lines: [], colour: 'red' })).toEqual([
      { path: 'colour', code: 'unrecognized_keys', message: expect.stringContaining('colour') },
    ]);
  });

  it('names a nested unknown key with its parent path', () => {
    expect(issuesFor(body, { sku: 'A', lines: [{ quantity: 1, price: 5 }] })).toEqual([
      { path: 'lines.0.price', code: 'unrecognized_keys', message: expect.stringContaining('price') },
    ]);
  });

  it('names every unknown key when there are several', () => {
    const issues = issuesFor(body, { sku: 'A', lines: [], colour: 'red', size: 'L' });
    expect(issues.map((issue) => issue.path).sort()).toEqual(['colour', 'size']);
    for (const issue of issues) expect(issue.code).toBe('unrecognized_keys');
  });

  it('reports a problem with the body itself as (body)', () => {
    expect(issuesFor(body, 'not an object')).toEqual([
      { path: '(body)', code: 'invalid_type', message: expect.any(String) },
    ]);
  });

  it('never echoes the rejected value', () => {
    const secret = 'hunter2-SECRET-VALUE';
    const issues = issuesFor(z.strictObject({ pin: z.string().regex(/^\d{4}$/) }), { pin: secret });
    expect(JSON.stringify(issues)).not.toContain(secret);
    expect(issues).toEqual([{ path: 'pin', code: 'invalid_format', message: expect.any(String) }]);
  });

  it('reports at most twenty issues', () => {
    const wide = z.strictObject(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, z.string()])));
    expect(issuesFor(wide, {})).toHaveLength(20);
  });
});

describe('errorBodySchema', () => {
  it('accepts the one error shape, with or without details', () => {
    expect(errorBodySchema.safeParse({ error: { code: 'validation_failed', message: 'bad' } }).success).toBe(true);
    expect(
      errorBodySchema.safeParse({ error: { code: 'validation_failed', message: 'bad', details: [{ path: 'sku' }] } })
        .success,
    ).toBe(true);
  });

  it('refuses extra fields at either level', () => {
    expect(errorBodySchema.safeParse({ error: { code: 'x', message: 'y' }, ok: false }).success).toBe(false);
    expect(errorBodySchema.safeParse({ error: { code: 'x', message: 'y', status: 400 } }).success).toBe(false);
  });
});
