import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeDatabaseFile, openEdgeDatabase } from './open.ts';

let root: string;
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the edge database on disk', () => {
  it('creates its data directory 0700 and keeps the database files 0600 whatever the umask', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-edge-open-'));
    const dataDir = path.join(root, 'edge-W1');
    const previous = process.umask(0o022);
    try {
      const db = openEdgeDatabase(dataDir);
      db.exec('CREATE TABLE probe (x INTEGER) STRICT; INSERT INTO probe VALUES (1)');
      db.close();
      const again = openEdgeDatabase(dataDir);
      again.close();
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(dataDir).filter((name) => name.startsWith(edgeDatabaseFile));
    expect(files).toContain(edgeDatabaseFile);
    for (const name of files) expect(fs.statSync(path.join(dataDir, name)).mode & 0o777, name).toBe(0o600);
  });
});
