import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from 'hono';

/**
 * The scanner web app for handhelds (keyboard-wedge barcode input into a browser): one static page
 * with no build step. Its inline script is allowed by hash in a strict Content-Security-Policy.
 */
const html = fs.readFileSync(path.join(import.meta.dirname, 'scanner', 'index.html'), 'utf8');
const script = /<script type="module">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
const scriptHash = createHash('sha256').update(script).digest('base64');
const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src 'sha256-${scriptHash}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function scannerPage(c: Context): Response {
  c.header('Content-Security-Policy', contentSecurityPolicy);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-cache');
  return c.html(html);
}
