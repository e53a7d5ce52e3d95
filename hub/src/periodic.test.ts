import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startPeriodic } from './periodic.ts';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startPeriodic', () => {
  it('runs passes one at a time, survives a failing pass, and stop() waits for the pass in progress', async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    let finished = 0;
    const task = startPeriodic(
      'test',
      1,
      async () => {
        passes++;
        running++;
        if (running > 1) overlapped = true;
        await sleep(5);
        running--;
        if (passes === 2) throw new Error('a failing pass');
        finished++;
      },
      logger,
    );
    for (let waited = 0; passes < 4 && waited < 2_000; waited += 5) await sleep(5);
    await task.stop();
    const after = passes;
    await sleep(30);
    expect(overlapped).toBe(false);
    expect(passes).toBeGreaterThanOrEqual(4);
    expect(running).toBe(0);
    expect(finished).toBe(passes - 1);
    expect(passes).toBe(after);
  });
});
