import { createHash } from 'node:crypto';
import type { Context as HonoContext } from 'hono';

/**
 * The hub's `/`: a small page for a person who opens the hub's address in a browser, pointing at
 * the API reference, the operations console and the health checks. No script; one hashed stylesheet.
 */
const style = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1b;background:#f6f4f0}
main{max-width:40rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.5rem;margin:.25rem 0 1rem}
ul{list-style:none;padding:0;margin:0}li{background:#fff;border-radius:.6rem;margin:.6rem 0;box-shadow:0 1px 2px rgba(0,0,0,.1)}
a{display:block;padding:.85rem 1rem;color:#1f4677;font-weight:600;text-decoration:none}a:hover,a:focus-visible{text-decoration:underline}
a:focus-visible{outline:3px solid #1f4677;outline-offset:2px}span{display:block;font-weight:400;color:#5b5750}`;
const styleHash = createHash('sha256').update(style).digest('base64');

const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Dovetail hub</title><style>${style}</style></head><body><main><h1>Dovetail hub</h1><p>Stock and orders across the warehouses. Where to go:</p><ul>
<li><a href="/ops">Operations console<span>Stock, edges, stuck orders, shortages, webhook failures (hub staff sign-in)</span></a></li>
<li><a href="/docs">API reference<span>REST and OpenAPI, with a place to paste a token</span></a></li>
<li><a href="/api/v1/openapi.json">OpenAPI document<span>For generating clients</span></a></li>
<li><a href="/healthz">Health<span>Whether this hub process answers</span></a></li>
<li><a href="/readyz">Readiness<span>Whether its database is reachable and migrated</span></a></li>
</ul></main></body></html>`;

export function homePage(c: HonoContext): Response {
  return c.html(page, 200, {
    'content-security-policy': `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
}
