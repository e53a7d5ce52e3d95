import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { type Context, Hono } from 'hono';

/**
 * The scanner web app for handhelds: static files (plain ES modules, one stylesheet, a service
 * worker) served as they are in the repository, so a fresh clone runs it with no build step. The
 * GS1 parser is the shared package's own module with its type annotations stripped at start-up, so
 * the browser and the server read barcodes with one rule. Every page is under a strict
 * Content-Security-Policy: scripts, styles, workers and the manifest from this origin only, no
 * inline script or style, no framing.
 */
const folder = path.join(import.meta.dirname, 'scanner');
const gs1Source = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@dovetail/shared')),
  'barcodes',
  'gs1.ts',
);

export const scannerContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

type Asset = { body: string; type: string; etag: string };

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

function load(): Map<string, Asset> {
  const read = (file: string) => fs.readFileSync(path.join(folder, file), 'utf8');
  const gs1 = transformSync(fs.readFileSync(gs1Source, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2022' });
  const files = new Map<string, Asset>([
    ['/', asset(read('index.html'), 'text/html; charset=utf-8')],
    ['/app/app.js', asset(read('app.js'), 'text/javascript; charset=utf-8')],
    ['/app/words.js', asset(read('words.js'), 'text/javascript; charset=utf-8')],
    ['/app/gs1.js', asset(gs1.code, 'text/javascript; charset=utf-8')],
    ['/app/app.css', asset(read('app.css'), 'text/css; charset=utf-8')],
    ['/app/icon.svg', asset(read('icon.svg'), 'image/svg+xml')],
    ['/app/manifest.webmanifest', asset(read('manifest.webmanifest'), 'application/manifest+json')],
  ]);
  // The service worker names its cache after every other file's ETag, so a new release of any file
  // replaces the cached app shell as a whole.
  const version = createHash('sha256')
    .update([...files.values()].map((file) => file.etag).join(','))
    .digest('base64url')
    .slice(0, 12);
  const shell = [...files.keys()];
  const worker = read('sw.js')
    .replace("'__VERSION__'", JSON.stringify(version))
    .replace("['__SHELL__']", JSON.stringify(shell));
  files.set('/sw.js', asset(worker, 'text/javascript; charset=utf-8'));
  return files;
}

export function scannerRoutes() {
  const files = load();
  const app = new Hono();
  const serve = (c: Context, file: Asset) => {
    c.header('Content-Security-Policy', scannerContentSecurityPolicy);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Permissions-Policy', 'camera=(self), microphone=(), geolocation=()');
    // Always revalidated; the service worker serves the cached copy when the edge is unreachable.
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', file.etag);
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304);
    c.header('Content-Type', file.type);
    return c.body(file.body);
  };
  for (const [route, file] of files) app.get(route, (c) => serve(c, file));
  return app;
}
