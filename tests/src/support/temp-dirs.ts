import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the OS temp dir; remove it with removeTempDir (cleanup does it in afterAll). */
export function createTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dovetail-${prefix}-`));
}

export function removeTempDir(dir: string): void {
  if (!path.resolve(dir).startsWith(path.resolve(os.tmpdir()) + path.sep)) {
    throw new Error(`refusing to remove ${dir}: not under ${os.tmpdir()}`);
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
