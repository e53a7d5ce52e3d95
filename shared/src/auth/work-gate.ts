/**
 * Bounds expensive work (password hashing: scrypt holds 16 to 128 MiB while it runs): at most
 * `concurrency` run at once, at most `queueMax` wait, and one key (a source address) has at most
 * `perKeyMax` running or waiting. Past any bound `tryRun` refuses at once (the caller answers 429)
 * rather than letting a flood queue up memory and delay everyone.
 */
export class WorkGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly perKey = new Map<string, number>();

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
    readonly perKeyMax: number,
  ) {}

  /** `work`'s promise, or undefined when refused. */
  tryRun<T>(key: string, work: () => Promise<T>): Promise<T> | undefined {
    const held = this.perKey.get(key) ?? 0;
    if (held >= this.perKeyMax) return undefined;
    if (this.running >= this.concurrency && this.waiting.length >= this.queueMax) return undefined;
    this.perKey.set(key, held + 1);
    const release = () => {
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    };
    const start = async (): Promise<T> => {
      try {
        return await work();
      } finally {
        release();
      }
    };
    if (this.running < this.concurrency) {
      this.running += 1;
      return start();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(start);
  }

  /** Work running and waiting now. */
  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
