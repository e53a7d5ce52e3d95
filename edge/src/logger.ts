import { pino } from 'pino';

/** Structured JSON logs on stdout; `LOG_LEVEL` (default info) sets the threshold. */
export function createLogger(bindings: Record<string, string>, level = process.env.LOG_LEVEL ?? 'info') {
  return pino({ level, base: { service: 'dovetail-edge', ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
export type Logger = ReturnType<typeof createLogger>;
