import { createHash } from 'node:crypto';

/**
 * Conditional reads (RFC 9110 §13.1.2): a GET whose `If-None-Match` names the answer's current ETag
 * is answered 304 with no body (the ETag, Cache-Control and Vary kept), so a client or cache that
 * holds the representation revalidates it without downloading it again.
 */
export function notModified(request: Request, response: Response): Response {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || response.status !== 200) return response;
  const etag = response.headers.get('etag');
  const ifNoneMatch = request.headers.get('if-none-match');
  if (!etag || !ifNoneMatch || !etagMatches(ifNoneMatch, etag)) return response;
  const headers = new Headers();
  for (const name of ['etag', 'cache-control', 'vary', 'content-location', 'expires']) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(null, { status: 304, headers });
}

/** Weak comparison, as If-None-Match uses: `W/"x"` matches `"x"`; `*` matches any current answer. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return ifNoneMatch.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === wanted);
}

/** A weak ETag for a JSON answer with no version of its own (a page of a list): a digest of its body. */
export function contentEtag(value: unknown): string {
  return `W/"${createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 27)}"`;
}
