import { cursorKey, opaqueCursor } from '@dovetail/shared';

/** Opaque cursors (shared/cursor.ts): the last key of a page, so clients do not build them. */
export function encodeCursor(key: string): string {
  return opaqueCursor(key);
}

/** The key of a cursor this hub made; undefined for none, or for one it did not make. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const key = cursorKey(cursor);
  return key !== undefined && key.length > 0 && key.length <= 128 ? key : undefined;
}
