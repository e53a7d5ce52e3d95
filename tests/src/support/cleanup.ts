/**
 * A stack of undo steps for a test file: register each resource as it is made, run them all in
 * afterAll (last made, first undone). A failing step is reported but does not stop the others.
 */
export class Cleanup {
  readonly #steps: Array<{ name: string; run: () => unknown }> = [];

  add(name: string, run: () => unknown): void {
    this.#steps.push({ name, run });
  }

  async runAll(): Promise<void> {
    const failures: string[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        failures.push(`${step.name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  }
}

/** Rejects if `promise` has not settled within `timeoutMs`; every wait in these tests is bounded. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight; resolves when all have settled. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
