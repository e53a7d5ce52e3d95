import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns a value other than undefined, and returns it; throws after
 * `timeoutMs` with `what` and the last thing `describe` said (or the probe's last error). Tests wait
 * for conditions, never for a fixed time.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = '';
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      const state = options.describe
        ? await Promise.resolve(options.describe()).catch((error: Error) => error.message)
        : '';
      throw new Error(
        `${what}: not within ${options.timeoutMs} ms${state ? `; last: ${state}` : ''}${lastError ? `; probe failed: ${lastError}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}
