import type { Logger } from 'pino';

/**
 * A background pass run every `intervalMs` until stopped, never two at once: the next pass is
 * scheduled when the previous one ends, a failed pass is logged and retried at the next tick, and
 * `stop()` waits for a pass in progress.
 */
export function startPeriodic(
  name: string,
  intervalMs: number,
  pass: () => Promise<unknown>,
  logger: Logger,
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    running = pass()
      .then((result) => {
        if (result) logger.debug({ task: name, result }, `${name} pass`);
      })
      .catch((error) => logger.warn({ err: error, task: name }, `${name} pass failed; will retry`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  timer = setTimeout(tick, intervalMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
