import { limits } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import { sweepExpiredHolds } from './service.ts';

/** The hold sweeper as a long-running process: one bounded pass per interval until stopped. */
export class HoldSweeper {
  readonly id = 'hold-sweeper';
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly nowMs: () => number,
    private readonly logger: Logger,
  ) {}

  run(): Promise<void> {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = sweepExpiredHolds(this.db, this.dialect, this.nowMs())
        .then((partitions) => {
          if (partitions > 0) this.logger.debug({ partitions }, 'expired holds settled');
        })
        .catch((error) => this.logger.warn({ err: error }, 'hold sweep failed; will retry'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, limits.holdSweepIntervalMs).unref();
        });
    };
    this.#timer = setTimeout(tick, limits.holdSweepIntervalMs).unref();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
