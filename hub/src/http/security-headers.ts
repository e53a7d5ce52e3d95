import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const noCachePrefixes = ['/api/v1/', '/trpc/', '/oauth/'];
const cacheablePaths = new Set(['/api/v1/openapi.json']);

const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The policy for an HTML page with inline code: each inline `<script>` is allowed by its hash (so
 * an injected script never runs), styles and fetches stay on this origin, and no other site may
 * frame the page. Computed from the page itself, so whoever edits the page need not keep a list.
 */
export function inlinePagePolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => hashOf(match[1] ?? ''));
  return [
    "default-src 'none'",
    `script-src 'self'${scripts.length > 0 ? ` ${scripts.join(' ')}` : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Headers every hub answer carries: `nosniff` everywhere; `Cache-Control: no-store` on the API,
 * tRPC and token answers (they carry tokens and data behind a token) unless a route chose its own;
 * a content security policy and frame protection on `htmlPages` that set none themselves.
 */
export function securityHeaders(options: { htmlPages: string[] }): MiddlewareHandler {
  const policies = new Map<string, string>();
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set('x-content-type-options', 'nosniff');
    const path = c.req.path;
    if (!headers.has('cache-control') && !cacheablePaths.has(path) && noCachePrefixes.some((p) => path.startsWith(p)))
      headers.set('cache-control', 'no-store');
    if (options.htmlPages.includes(path) && !headers.has('content-security-policy')) {
      const html = await c.res.clone().text();
      let policy = policies.get(html);
      if (!policy) {
        policy = inlinePagePolicy(html);
        if (policies.size > 16) policies.clear();
        policies.set(html, policy);
      }
      headers.set('content-security-policy', policy);
      headers.set('x-frame-options', 'DENY');
      headers.set('referrer-policy', 'no-referrer');
    }
  };
}
