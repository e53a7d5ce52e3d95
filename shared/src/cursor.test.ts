import { describe, expect, it } from 'vitest';
import { cursorKey, opaqueCursor } from './cursor.ts';

describe('opaque cursors', () => {
  it('are base64url of the key, as Buffer writes it, and read back', () => {
    for (const key of [
      '',
      'a',
      'ab',
      'abc',
      'SOFA-OSLO-3S-GREY',
      '1795430666936:01a20801-d2b8',
      '{"afterSku":"Ä-ß"}',
      '🛋️ sofa',
    ]) {
      expect(opaqueCursor(key)).toBe(Buffer.from(key, 'utf8').toString('base64url'));
      expect(cursorKey(opaqueCursor(key))).toBe(key);
    }
  });

  it('read nothing from text they did not make', () => {
    expect(cursorKey('abc!')).toBeUndefined();
    expect(cursorKey('a+b/')).toBeUndefined();
    expect(cursorKey('YWJjZ')).toBeUndefined();
    expect(cursorKey('YR')).toBeUndefined();
    expect(cursorKey(Buffer.from([0xff, 0xfe]).toString('base64url'))).toBeUndefined();
  });
});
