/**
 * Assertions catch programmer errors and crash (TigerBeetle style). Expected failures such as
 * insufficient stock are returned as values with a reason code, never thrown through here.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, message = 'unexpected value'): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}

export function assertSafeInteger(value: number, name: string): void {
  assert(Number.isSafeInteger(value), `${name} must be a safe integer, got ${value}`);
}
