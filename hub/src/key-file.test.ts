import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteConfigFor } from './db/connect.ts';
import { loadOrCreateKeyEncryptionKey } from './key-file.ts';

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;
let root: string;
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the key-encryption key file and the data directory', () => {
  it('generates a 0600 key in a 0700 directory on first start and reads the same key after', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-kek-'));
    const file = path.join(root, 'data', 'hub.kek');
    const first = loadOrCreateKeyEncryptionKey(file);
    expect(first.created).toBe(true);
    expect(first.key.length).toBe(32);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.dirname(file))).toBe(0o700);
    const second = loadOrCreateKeyEncryptionKey(file);
    expect(second.created).toBe(false);
    expect(second.key).toEqual(first.key);
  });

  it('narrows a key file others can read, and refuses one that is not a 32-byte key', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-kek-'));
    const file = path.join(root, 'hub.kek');
    fs.writeFileSync(file, `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(loadOrCreateKeyEncryptionKey(file).key).toEqual(Buffer.alloc(32, 7));
    expect(modeOf(file)).toBe(0o600);
    fs.writeFileSync(file, 'short');
    expect(() => loadOrCreateKeyEncryptionKey(file)).toThrow(/32 bytes/);
  });

  it('creates the SQLite data directory 0700', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-kek-'));
    const config = sqliteConfigFor(path.join(root, 'hub-data'));
    expect(config).toMatchObject({ kind: 'sqlite' });
    expect(modeOf(path.join(root, 'hub-data'))).toBe(0o700);
  });
});
