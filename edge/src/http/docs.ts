import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { openapi } from '@dovetail/shared';
import type { Context } from 'hono';

/**
 * `/docs`: Swagger UI over `/api/v1/openapi.json` (shared/src/openapi/docs-page.ts), its files read
 * once from the installed swagger-ui-dist package. No CDN: the edge often runs where the internet
 * link drops. The page has no inline script; its CSP allows this origin only and no framing.
 */
const pageHeaders = {
  'content-security-policy': openapi.docsContentSecurityPolicy,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

let files: Map<string, string> | undefined;
function docsFiles(): Map<string, string> {
  if (!files) {
    const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    files = new Map([
      ['swagger-ui.css', readFileSync(path.join(dist, 'swagger-ui.css'), 'utf8')],
      ['swagger-ui-bundle.js', readFileSync(path.join(dist, 'swagger-ui-bundle.js'), 'utf8')],
      ['init.js', openapi.docsInitScript],
    ]);
  }
  return files;
}

export function docsPage(title: string) {
  const html = openapi.docsPageHtml(title);
  return (c: Context) => c.html(html, 200, pageHeaders);
}

/** `/docs/{asset}`: the renderer's files; anything else is a 404. */
export function docsAsset(c: Context, notFound: (c: Context) => Response) {
  const name = c.req.param('asset') ?? '';
  const type = (openapi.docsAssets as Record<string, string>)[name];
  const body = type ? docsFiles().get(name) : undefined;
  if (!type || body === undefined) return notFound(c);
  return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=3600', ...pageHeaders });
}
