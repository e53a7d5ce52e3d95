/** Opaque cursors: the last key of a page, base64url-encoded so clients do not build them. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return key.length > 0 && key.length <= 128 ? key : undefined;
}
