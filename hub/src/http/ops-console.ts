import { createHash } from 'node:crypto';
import { DomainError, escapeHtml, limits, type OrderStatus, orderStatuses } from '@dovetail/shared';
import type { Hono, Context as HonoContext } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { signInStaff } from '../identity/sign-in.ts';
import {
  type ConsoleScope,
  edgesOverview,
  holdsForSku,
  orderCounts,
  ordersInStatus,
  type StuckOrder,
  shortagesOverview,
  stockHistory,
  stockRows,
  stuckOrders,
  syncLagHistory,
  webhooksOverview,
} from '../operations/console.ts';
import { resolveOrderId } from '../orders/lookup.ts';
import { getOrder } from '../orders/service.ts';
import { retryDelivery } from '../webhooks/endpoints.ts';
import { clientAddress } from './client-address.ts';
import { asApiError } from './errors.ts';
import { requestIdOf } from './observability.ts';
import { lineChart } from './ops-charts.ts';
import {
  clearSessionCookie,
  csrfMatches,
  may,
  type OpsSession,
  opsPath,
  overTls,
  readSession,
  SignedOut,
  sameOrigin,
  setSessionCookie,
} from './ops-session.ts';
import { recordSignInRefused } from './routers/staff.ts';
import type { HubDeps } from './trpc.ts';

/**
 * The operations console at `/ops` (docs/architecture.md, `http/` owns the HTML pages; how to use it:
 * hub/README.md, "Operations console"): stock, edges, orders that need a person, shortages, webhook
 * failures, for hub staff signed in with their staff account. Server-rendered
 * HTML with one hashed stylesheet and one same-origin script (it re-reads live regions every few
 * seconds, so an edge that drops shows without a reload); every read goes through
 * `operations/console.ts`, every action through its feature's service.
 */

export type OpsConsoleOptions = {
  /** `HUB_OPS_FULFILLMENT_OVERDUE_HOURS`: a fulfillment request unanswered this long is stuck. */
  fulfillmentOverdueHours: number;
};

const chartWindowMs = 24 * 60 * 60 * 1000;
const chartEventsMax = 20_000;
const liveRefreshMs = 4_000;
const formBytesMax = 8 * 1024;

const style = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1b;background:#f6f4f0}
a{color:#1f4677}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,[tabindex]:focus-visible{outline:3px solid #1f4677;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}.skip:focus{left:.5rem}
header{background:#23302a;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}
header a,header .who{color:#fff}header .brand{font-weight:700;text-decoration:none}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
nav a{display:inline-block;padding:.5rem .65rem;border-radius:.4rem;text-decoration:none;min-height:44px;line-height:28px}
nav a[aria-current=page]{background:#fff;color:#23302a;font-weight:600}
.who{display:flex;gap:.5rem;align-items:center}
main{max-width:80rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.25rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.75rem}
.card{background:#fff;border-radius:.6rem;padding:.85rem 1rem;box-shadow:0 1px 2px rgba(0,0,0,.1)}
.card .figure{font-size:1.6rem;font-weight:700;display:block}a.card{text-decoration:none;color:#1d1d1b}a.card:hover .figure{text-decoration:underline}
.scroll{overflow-x:auto;background:#fff;border-radius:.6rem;box-shadow:0 1px 2px rgba(0,0,0,.1)}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}.caption{font-weight:600;margin:.25rem 0 .4rem}
th,td{padding:.45rem .75rem;border-top:1px solid #e4dfd6;text-align:left;white-space:nowrap;vertical-align:top}
td.n,th.n{text-align:right}thead th{background:#efebe4;font-weight:600}
.bad{color:#a11d1d;font-weight:600}.good{color:#1d6b34;font-weight:600}.warn{color:#8a4b00;font-weight:600}.muted{color:#5b5750}
.pill{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600}
.pill.bad{background:#fbe4e4}.pill.good{background:#e1f2e6}.pill.warn{background:#fdf0dc}
form.inline{display:inline}
button{font:inherit;font-weight:600;color:#fff;background:#23302a;border:0;border-radius:.45rem;padding:.55rem 1rem;min-height:44px;cursor:pointer}
button.secondary{background:#fff;color:#23302a;border:1px solid #23302a}
header button{background:#fff;color:#23302a;min-height:36px;padding:.3rem .8rem}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}
input,select{font:inherit;padding:.5rem;border:1px solid #8c857a;border-radius:.4rem;min-height:44px;width:100%;max-width:22rem;background:#fff}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}.filters div{flex:1 1 12rem}
.message{padding:.65rem .9rem;border-radius:.5rem;margin:.5rem 0;background:#e1f2e6;color:#14502a}
.message.error{background:#fbe4e4;color:#7d1414}
.signin{max-width:24rem;margin:3rem auto;background:#fff;padding:1.5rem;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.signin button{width:100%;margin-top:1rem}
figure.chart{max-width:48rem;margin:0;background:#fff;border-radius:.6rem;padding:.75rem;box-shadow:0 1px 2px rgba(0,0,0,.1)}
ul.legend{list-style:none;padding:0;margin:.4rem 0 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
ul.legend svg{vertical-align:-2px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));gap:1rem}
@media (max-width:40rem){main{padding:.6rem}th,td{padding:.4rem .5rem}}`;
const styleHash = createHash('sha256').update(style).digest('base64');

const script = `'use strict';
// Re-reads this page every few seconds and swaps the regions marked data-live (edge links, counts),
// so an edge that drops shows as offline without a reload. Signed out: back to the sign-in page.
(function () {
  var regions = document.querySelectorAll('[data-live]');
  if (regions.length === 0) return;
  setInterval(function () {
    if (document.hidden) return;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (!text) return;
        var next = new DOMParser().parseFromString(text, 'text/html');
        regions.forEach(function (region) {
          var fresh = next.getElementById(region.id);
          if (fresh && fresh.innerHTML !== region.innerHTML) region.innerHTML = fresh.innerHTML;
        });
      })
      .catch(function () {});
  }, ${liveRefreshMs});
})();
`;

const securityHeaders = {
  'content-security-policy': `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'sha256-${styleHash}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
};

const pages = [
  { path: '', name: 'Overview', permission: 'edges.read' },
  { path: '/stock', name: 'Stock', permission: 'inventory.read' },
  { path: '/edges', name: 'Edges', permission: 'edges.read' },
  { path: '/orders', name: 'Orders', permission: 'orders.read' },
  { path: '/shortages', name: 'Shortages', permission: 'edges.read' },
  { path: '/webhooks', name: 'Webhooks', permission: 'webhooks.manage' },
] as const;
type PagePath = (typeof pages)[number]['path'];

const roleWords: Record<string, string> = {
  admin: 'admin',
  supervisor: 'supervisor',
  customer_service: 'customer service',
  warehouse_staff: 'warehouse staff',
};

const orderStatusWords: Record<OrderStatus, string> = {
  pending_payment: 'Waiting for payment',
  processing: 'Paid, being fulfilled',
  partially_packed: 'Partly packed',
  packed: 'Packed',
  partially_shipped: 'Partly shipped',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancel_requested: 'Cancel requested',
  canceled: 'Cancelled',
  return_requested: 'Return requested',
  returned: 'Returned',
  expired: 'Expired (never paid)',
};

const n = (value: number) => value.toLocaleString('en-GB');
const iso = (ms: number) => new Date(ms).toISOString();

function ago(nowMs: number, atMs: number | null): string {
  if (atMs === null) return '<span class="muted">never</span>';
  const seconds = Math.max(0, Math.round((nowMs - atMs) / 1000));
  const words =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 172_800
          ? `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min ago`
          : `${Math.floor(seconds / 86_400)} days ago`;
  return `<time datetime="${iso(atMs)}" title="${iso(atMs)}">${words}</time>`;
}

function duration(seconds: number | null): string {
  if (seconds === null) return '<span class="muted">unknown</span>';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/**
 * A table in a scrollable, keyboard-reachable region (narrow screens scroll it sideways); its name
 * stands above the region so it stays readable at 360 px while the table scrolls.
 */
function table(
  id: string,
  caption: string,
  head: string[],
  rows: string[][],
  empty: string,
  numeric: number[] = [],
): string {
  if (rows.length === 0) return `<p class="card muted" id="${id}">${escapeHtml(empty)}</p>`;
  const cls = (index: number) => (numeric.includes(index) ? ' class="n"' : '');
  const header = head.map((cell, index) => `<th scope="col"${cls(index)}>${escapeHtml(cell)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells.map((cell, index) => (index === 0 ? `<th scope="row">${cell}</th>` : `<td${cls(index)}>${cell}</td>`)).join('')}</tr>`,
    )
    .join('');
  return `<p class="caption" id="${id}-caption">${escapeHtml(caption)}</p><div class="scroll" role="region" aria-labelledby="${id}-caption" tabindex="0"><table id="${id}" aria-labelledby="${id}-caption"><thead><tr>${header}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function document(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · Dovetail operations</title><style>${style}</style><script src="${opsPath}/assets/console.js" defer></script></head><body>${body}</body></html>`;
}

function layout(session: OpsSession, current: PagePath, title: string, content: string): string {
  const links = pages
    .filter((page) => may(session, page.permission))
    .map(
      (page) =>
        `<li><a href="${opsPath}${page.path}"${page.path === current ? ' aria-current="page"' : ''}>${page.name}</a></li>`,
    )
    .join('');
  const who = `${escapeHtml(session.username)} · ${escapeHtml(roleWords[session.principal.role] ?? session.principal.role)}`;
  return document(
    title,
    `<a class="skip" href="#content">Skip to content</a><header><a class="brand" href="${opsPath}">Dovetail operations</a><nav aria-label="Console"><ul>${links}</ul></nav><div class="who"><span>${who}</span><form class="inline" method="post" action="${opsPath}/sign-out"><input type="hidden" name="csrf" value="${session.csrf}"><button type="submit">Sign out</button></form></div></header><main id="content"><h1>${escapeHtml(title)}</h1>${content}</main>`,
  );
}

function signInPage(options: { error?: string; next?: string; username?: string }): string {
  const error = options.error ? `<p class="message error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return document(
    'Sign in',
    `<main id="content"><div class="signin"><h1>Dovetail operations</h1><p class="muted">Sign in with your hub staff account.</p>${error}<form method="post" action="${opsPath}/sign-in"><input type="hidden" name="next" value="${escapeHtml(options.next ?? opsPath)}"><label for="username">Username</label><input id="username" name="username" autocomplete="username" required maxlength="${limits.usernameLengthMax}" value="${escapeHtml(options.username ?? '')}"${options.username ? '' : ' autofocus'}><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="${limits.passwordLengthMax}"${options.username ? ' autofocus' : ''}><label for="code">One-time code <span class="muted">(accounts with MFA)</span></label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"><button type="submit">Sign in</button></form></div></main>`,
  );
}

function messagePage(title: string, text: string, signedIn?: OpsSession): string {
  const body = `<p class="card">${escapeHtml(text)}</p>`;
  if (signedIn) return layout(signedIn, '', title, body);
  return document(
    title,
    `<main id="content"><h1>${escapeHtml(title)}</h1>${body}<p><a href="${opsPath}/sign-in">Sign in as someone else</a></p></main>`,
  );
}

/** Only console paths may follow a sign-in (no open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/ops(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&%._-]*)?$/.test(value)
    ? value
    : opsPath;
}

const connection = (connected: boolean) =>
  connected ? '<span class="pill good">● Online</span>' : '<span class="pill bad">○ Offline</span>';

const orderLink = (id: string, number: string) =>
  `<a href="${opsPath}/orders/${encodeURIComponent(id)}">${escapeHtml(number)}</a>`;

const allocationWords: Record<string, string> = {
  committed: 'Allocated',
  shipped: 'Shipped',
  released: 'Released',
  rerouted: 'Moved to another warehouse',
  backordered: 'Backordered',
};

const fulfillmentWords: Record<string, string> = {
  requested: 'Sent to the warehouse',
  accepted: 'Accepted by the warehouse',
  packed: 'Packed',
  partially_shipped: 'Partly shipped',
  shipped: 'Shipped',
  canceled: 'Cancelled',
  rejected: 'Refused by the warehouse',
};

const stuckWords: Record<StuckOrder['reason'], string> = {
  paid_unallocated: 'Paid, but no warehouse holds its units',
  fulfillment_overdue: 'Sent to its warehouse, not packed yet',
  cancel_requested: 'Cancel requested, waiting for the warehouse',
};

export function mountOpsConsole(app: Hono, deps: HubDeps, options: OpsConsoleOptions): void {
  const signedOut = new SignedOut(deps.nowMs);
  const html = (c: HonoContext, body: string, status: 200 | 303 | 400 | 401 | 403 | 404 | 409 | 429 = 200) =>
    c.html(body, status, securityHeaders);
  const formLimit = bodyLimit({ maxSize: formBytesMax, onError: (c) => c.text('form too large', 413) });

  /** The page's session, or the answer to send instead (sign-in redirect, 403). */
  const withSession = async (c: HonoContext): Promise<OpsSession | Response> => {
    const check = await readSession(c, deps, signedOut);
    if (check.kind === 'ok') return check.session;
    if (check.kind === 'forbidden') return html(c, messagePage('Not allowed', check.message), 403);
    const next = safeNext(`${c.req.path}${new URL(c.req.url).search}`);
    return c.redirect(`${opsPath}/sign-in?next=${encodeURIComponent(next)}`, 303);
  };
  const scopeOf = (session: OpsSession): ConsoleScope => session.principal.warehouses;

  const page =
    (path: PagePath, render: (c: HonoContext, session: OpsSession, nowMs: number) => Promise<[string, string]>) =>
    async (c: HonoContext) => {
      const session = await withSession(c);
      if (session instanceof Response) return session;
      const permission = pages.find((candidate) => candidate.path === path)?.permission ?? 'edges.read';
      if (!may(session, permission)) {
        return html(c, messagePage('Not allowed', 'Your role does not include this page.', session), 403);
      }
      const [title, content] = await render(c, session, deps.nowMs());
      return html(c, layout(session, path, title, content));
    };

  app.get(`${opsPath}/assets/console.js`, (c) =>
    c.body(script, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    }),
  );

  app.get(`${opsPath}/sign-in`, async (c) => {
    const check = await readSession(c, deps, signedOut);
    const next = safeNext(c.req.query('next'));
    if (check.kind === 'ok') return c.redirect(next, 303);
    return html(c, signInPage({ next }));
  });

  app.post(`${opsPath}/sign-in`, formLimit, async (c) => {
    if (!sameOrigin(c)) return html(c, messagePage('Not allowed', 'Sign in from the console’s own page.'), 403);
    const form = await c.req.parseBody();
    const username = typeof form['username'] === 'string' ? form['username'].trim() : '';
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    const code = typeof form['code'] === 'string' ? form['code'].trim() : '';
    const next = safeNext(form['next']);
    if (
      !username ||
      !password ||
      username.length > limits.usernameLengthMax ||
      password.length > limits.passwordLengthMax ||
      // A NUL is never part of a name or password, and PostgreSQL cannot look one up (a 500 before).
      `${username}${password}`.includes('\u0000') ||
      !/^([0-9]{6})?$/.test(code)
    ) {
      return html(
        c,
        signInPage({
          next,
          username: username.slice(0, limits.usernameLengthMax),
          error: 'Enter your username and password (and the 6-digit code if your account has MFA).',
        }),
        400,
      );
    }
    const result = await signInStaff(deps, username, password, clientAddress(c), code || undefined);
    if (result.kind === 'locked') {
      c.header('retry-after', String(result.retryAfterSeconds));
      return html(
        c,
        signInPage({
          next,
          username,
          error: `Too many failed attempts for ${username}. Try again in ${result.retryAfterSeconds} s.`,
        }),
        429,
      );
    }
    if (result.kind === 'invalid') {
      await recordSignInRefused(deps, username, clientAddress(c), requestIdOf(c));
      return html(c, signInPage({ next, username, error: 'Wrong username or password.' }), 401);
    }
    if (result.kind === 'mfa_required')
      return html(c, signInPage({ next, username, error: 'Enter the 6-digit code from your authenticator app.' }), 401);
    if (result.kind === 'invalid_code') {
      const reason = result.replayed ? 'mfa_code_replayed' : 'invalid_mfa_code';
      await recordSignInRefused(deps, username, clientAddress(c), requestIdOf(c), reason);
      const error = result.replayed ? 'That code was already used: wait for the next one.' : 'Wrong one-time code.';
      return html(c, signInPage({ next, username, error }), 401);
    }
    if (result.enrolmentOnly) {
      return html(
        c,
        signInPage({
          next,
          username,
          error: 'Admins sign in with MFA here: enrol it first (POST /api/v1/staff/me/mfa), then sign in with a code.',
        }),
        403,
      );
    }
    setSessionCookie(c, result.token, result.expiresIn, overTls(c, deps.publicUrl));
    return c.redirect(next, 303);
  });

  app.post(`${opsPath}/sign-out`, formLimit, async (c) => {
    const check = await readSession(c, deps, signedOut);
    if (check.kind === 'ok') {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !csrfMatches(check.session.token, form['csrf'])) {
        return html(
          c,
          messagePage('Not allowed', 'That form is out of date: reload the page and try again.', check.session),
          403,
        );
      }
      signedOut.add(check.session.token, deps.nowMs() + limits.staffTokenTtlSeconds * 1000);
    }
    clearSessionCookie(c, overTls(c, deps.publicUrl));
    return c.redirect(`${opsPath}/sign-in`, 303);
  });

  app.get(
    opsPath,
    page('', async (_c, session, nowMs) => {
      const scope = scopeOf(session);
      const { edges } = await edgesOverview(deps.db, scope, nowMs);
      const offline = edges.filter((edge) => !edge.connected);
      const lagging = edges.filter((edge) => edge.upstream.lagEvents > 0);
      const shortages = await shortagesOverview(deps.db, scope);
      const cards = [
        `<a class="card" href="${opsPath}/edges"><span class="figure ${offline.length ? 'bad' : 'good'}">${offline.length} offline</span>${edges.length - offline.length} of ${edges.length} edges online${lagging.length ? `, ${lagging.length} with events waiting` : ''}</a>`,
        `<a class="card" href="${opsPath}/shortages"><span class="figure ${shortages.releaseRequests.length + shortages.backorders.length ? 'warn' : 'good'}">${shortages.releaseRequests.length + shortages.backorders.length}</span>open shortages and backorders</a>`,
      ];
      if (may(session, 'orders.read')) {
        const stuck = await stuckOrders(deps.db, nowMs, {
          fulfillmentOverdueMs: options.fulfillmentOverdueHours * 3_600_000,
        });
        cards.push(
          `<a class="card" href="${opsPath}/orders"><span class="figure ${stuck.length ? 'warn' : 'good'}">${stuck.length}</span>orders need a person</a>`,
        );
      }
      if (may(session, 'webhooks.manage')) {
        const webhooks = await webhooksOverview(deps.db);
        const failing = webhooks.endpoints.filter((endpoint) => endpoint.failingSince !== null || endpoint.disabled);
        cards.push(
          `<a class="card" href="${opsPath}/webhooks"><span class="figure ${failing.length ? 'bad' : 'good'}">${failing.length}</span>webhook endpoints failing, ${webhooks.deliveries.length} deliveries to look at</a>`,
        );
      }
      const stockSeries = await stockHistory(deps.db, scope, nowMs, {
        windowMs: chartWindowMs,
        eventsMax: chartEventsMax,
      });
      const lagSeries = await syncLagHistory(deps.db, scope, nowMs, {
        windowMs: chartWindowMs,
        eventsMax: chartEventsMax,
        slots: 96,
      });
      return [
        'Overview',
        `<section aria-label="Summary" id="summary" data-live aria-live="polite"><div class="cards">${cards.join('')}</div></section>
<h2>Last 24 hours</h2><div class="grid2">${stockChart(stockSeries, nowMs)}${lagChart(lagSeries, nowMs)}</div>`,
      ];
    }),
  );

  const stockChart = (series: Awaited<ReturnType<typeof stockHistory>>, nowMs: number) =>
    lineChart({
      id: 'stock-chart',
      title: 'Units on hand per warehouse, last 24 hours',
      description: series.length
        ? series.map((one) => `${one.warehouseId}: ${one.points.at(-1)?.value ?? 0} units now`).join('; ')
        : 'No stock yet.',
      series: series.map((one) => ({ name: one.warehouseId, points: one.points })),
      fromMs: nowMs - chartWindowMs,
      toMs: nowMs,
      unit: 'units',
    });
  const lagChart = (series: Awaited<ReturnType<typeof syncLagHistory>>, nowMs: number) =>
    lineChart({
      id: 'lag-chart',
      title: 'Sync lag per warehouse: seconds from scan to hub, last 24 hours',
      description: series.length
        ? series
            .map((one) => `${one.warehouseId}: worst ${Math.round(Math.max(...one.points.map((p) => p.value)))} s`)
            .join('; ')
        : 'No events synced in the last 24 hours.',
      series: series.map((one) => ({ name: one.warehouseId, points: one.points })),
      fromMs: nowMs - chartWindowMs,
      toMs: nowMs,
      unit: 's',
    });

  app.get(
    `${opsPath}/stock`,
    page('/stock', async (c, session, nowMs) => {
      const sku = (c.req.query('sku') ?? '').trim().slice(0, limits.skuLengthMax);
      const warehouse = (c.req.query('warehouse') ?? '').trim().slice(0, 64);
      const scope = scopeOf(session);
      const rows = await stockRows(
        deps.db,
        { skuPrefix: sku || undefined, warehouseId: warehouse || undefined },
        scope,
        nowMs,
      );
      const series = await stockHistory(deps.db, scope, nowMs, { windowMs: chartWindowMs, eventsMax: chartEventsMax });
      const filters = `<form method="get" class="filters card" role="search" aria-label="Filter stock"><div><label for="sku">SKU starts with</label><input id="sku" name="sku" value="${escapeHtml(sku)}"></div><div><label for="warehouse">Warehouse</label><input id="warehouse" name="warehouse" value="${escapeHtml(warehouse)}"></div><div><button type="submit">Show</button></div></form>`;
      const body = rows.map((row) => [
        escapeHtml(row.sku),
        escapeHtml(row.warehouseId),
        n(row.onHand),
        row.available < 0
          ? `<strong class="bad">${n(row.available)} short</strong>`
          : `<strong>${n(row.available)}</strong>`,
        n(row.committed),
        n(row.reserved),
        n(row.damaged),
        n(row.qualityControl),
        n(row.picked),
        n(row.edgeQuota),
        n(row.safetyStock),
        n(row.incoming),
        `<a href="${opsPath}/stock/holds?sku=${encodeURIComponent(row.sku)}">Holds<span class="muted"> on ${escapeHtml(row.sku)}</span></a>`,
      ]);
      return [
        'Stock by SKU and warehouse',
        `${filters}<h2>Quantities</h2>${table(
          'stock',
          `Stock${sku ? ` of SKUs starting ${sku}` : ''}${warehouse ? ` at ${warehouse}` : ''} (first ${rows.length})`,
          [
            'SKU',
            'Warehouse',
            'On hand',
            'Available',
            'Allocated',
            'Held at checkout',
            'Damaged',
            'Quality check',
            'Picked',
            'In-store quota',
            'Safety stock',
            'Incoming',
            'Holds',
          ],
          body,
          'No stock matches.',
          [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        )}<p class="muted">Available = on hand − allocated to paid orders − held for checkouts − damaged − in quality check − safety stock − in-store quota.</p><h2>Over time</h2>${stockChart(series, nowMs)}`,
      ];
    }),
  );

  app.get(`${opsPath}/stock/holds`, async (c) => {
    const session = await withSession(c);
    if (session instanceof Response) return session;
    if (!may(session, 'inventory.read'))
      return html(c, messagePage('Not allowed', 'Your role does not include this page.', session), 403);
    const nowMs = deps.nowMs();
    const sku = (c.req.query('sku') ?? '').trim().slice(0, limits.skuLengthMax);
    if (!sku) return c.redirect(`${opsPath}/stock`, 303);
    const { holds, allocations } = await holdsForSku(deps.db, sku, scopeOf(session), nowMs);
    const content = `<p><a href="${opsPath}/stock?sku=${encodeURIComponent(sku)}">Back to the stock of ${escapeHtml(sku)}</a></p>
<h2>Checkout holds</h2>${table(
      'holds',
      `Holds on ${sku} not yet expired`,
      ['Hold', 'Warehouse', 'Units', 'Taken', 'Expires', 'Client'],
      holds.map((hold) => [
        escapeHtml(hold.holdId),
        escapeHtml(hold.warehouseId),
        n(hold.quantity),
        ago(nowMs, hold.createdAt),
        `<time datetime="${iso(hold.expiresAt)}">in ${duration((hold.expiresAt - nowMs) / 1000)}</time>`,
        escapeHtml(hold.clientId),
      ]),
      `No checkout holds on ${sku}.`,
      [2],
    )}<h2>Allocated to paid orders</h2>${table(
      'allocations',
      `Units of ${sku} allocated to paid orders`,
      ['Order', 'Warehouse', 'Units', 'Paid'],
      allocations.map((allocation) => [
        escapeHtml(allocation.orderNumber),
        escapeHtml(allocation.warehouseId),
        n(allocation.quantity),
        ago(nowMs, allocation.paidAt),
      ]),
      `No units of ${sku} are allocated.`,
      [2],
    )}`;
    return html(c, layout(session, '/stock', `Holds on ${sku}`, content));
  });

  app.get(
    `${opsPath}/edges`,
    page('/edges', async (_c, session, nowMs) => {
      const scope = scopeOf(session);
      const { edges, rejections } = await edgesOverview(deps.db, scope, nowMs);
      const lag = await syncLagHistory(deps.db, scope, nowMs, {
        windowMs: chartWindowMs,
        eventsMax: chartEventsMax,
        slots: 96,
      });
      const rows = edges.map((edge) => [
        escapeHtml(edge.warehouseId),
        connection(edge.connected),
        ago(nowMs, edge.lastSeenAt),
        edge.upstream.lagEvents > 0 ? `<span class="warn">${n(edge.upstream.lagEvents)}</span>` : '0',
        duration(edge.upstream.lagSeconds),
        edge.rejected > 0 ? `<span class="bad">${n(edge.rejected)}</span>` : '0',
        escapeHtml(edge.edgeId),
      ]);
      return [
        'Edges',
        `<section id="edges-live" data-live aria-live="polite" aria-label="Edge links">${table(
          'edges',
          'Warehouse edges and their link to the hub',
          ['Warehouse', 'Link', 'Last contact', 'Events waiting', 'Behind by', 'Refused events', 'Edge'],
          rows,
          'No edge has connected yet.',
          [3, 4, 5],
        )}<p class="muted">Updated ${ago(nowMs, nowMs)}; this list refreshes by itself.</p></section>
<h2>Sync lag</h2>${lagChart(lag, nowMs)}
<h2>Refused events</h2>${table(
          'rejections',
          'Events the hub refused, newest first',
          ['Warehouse', 'Event', 'SKU', 'Reason', 'When'],
          rejections.map((rejection) => [
            escapeHtml(rejection.warehouseId),
            `#${rejection.edgeSeq}`,
            escapeHtml(rejection.sku),
            `${escapeHtml(rejection.message)} <span class="muted">(${escapeHtml(rejection.reason)})</span>`,
            ago(nowMs, rejection.createdAt),
          ]),
          'The hub has refused no events.',
        )}`,
      ];
    }),
  );

  app.get(
    `${opsPath}/orders`,
    page('/orders', async (c, _session, nowMs) => {
      const requested = c.req.query('status');
      const status = (orderStatuses as readonly string[]).includes(requested ?? '')
        ? (requested as OrderStatus)
        : undefined;
      const stuck = await stuckOrders(deps.db, nowMs, {
        fulfillmentOverdueMs: options.fulfillmentOverdueHours * 3_600_000,
      });
      const counts = await orderCounts(deps.db, nowMs);
      const stuckTable = table(
        'stuck',
        `Orders that need a person, longest waiting first (fulfillment counts as late after ${options.fulfillmentOverdueHours} h)`,
        ['Order', 'Why', 'Waiting since', 'Status', 'Warehouse'],
        stuck.map((order) => [
          orderLink(order.orderId, order.orderNumber),
          `<span class="warn">${stuckWords[order.reason]}</span>`,
          ago(nowMs, order.since),
          escapeHtml(orderStatusWords[order.status as OrderStatus] ?? order.status),
          order.warehouseId ? escapeHtml(order.warehouseId) : '<span class="muted">—</span>',
        ]),
        'No order is stuck.',
      );
      const countTable = table(
        'by-status',
        'Orders by status',
        ['Status', 'Orders'],
        orderStatuses.map((one) => [
          one === 'expired'
            ? escapeHtml(orderStatusWords[one])
            : `<a href="${opsPath}/orders?status=${one}">${escapeHtml(orderStatusWords[one])}</a>`,
          n(counts[one]),
        ]),
        'No orders yet.',
        [1],
      );
      let listed = '';
      if (status) {
        const rows = await ordersInStatus(deps.db, status);
        listed = `<h2>${escapeHtml(orderStatusWords[status])}</h2>${table(
          'listed',
          `Newest orders in “${orderStatusWords[status]}”`,
          ['Order', 'Total', 'Last change'],
          rows.map((row) => [
            orderLink(row.orderId, row.orderNumber),
            `${(row.total / 100).toFixed(2)} ${escapeHtml(row.currency)}`,
            ago(nowMs, row.updatedAt),
          ]),
          'None.',
          [1],
        )}`;
      }
      return ['Orders', `<h2>Stuck</h2>${stuckTable}<h2>By status</h2>${countTable}${listed}`];
    }),
  );

  app.get(`${opsPath}/orders/:id`, async (c) => {
    const session = await withSession(c);
    if (session instanceof Response) return session;
    if (!may(session, 'orders.read')) {
      return html(c, messagePage('Not allowed', 'Your role does not include this page.', session), 403);
    }
    const nowMs = deps.nowMs();
    let order: Awaited<ReturnType<typeof getOrder>>;
    try {
      order = await getOrder(deps.db, await resolveOrderId(deps.db, c.req.param('id').slice(0, 64)), '*', nowMs);
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'not_found') {
        return html(c, messagePage('Not found', 'There is no such order.', session), 404);
      }
      throw error;
    }
    const at = (text: string) => ago(nowMs, Date.parse(text));
    const content = `<p><a href="${opsPath}/orders">Back to orders</a></p>
<section class="cards" aria-label="Order"><div class="card"><span class="figure">${escapeHtml(orderStatusWords[order.status] ?? order.status)}</span>${(order.total / 100).toFixed(2)} ${escapeHtml(order.currency)}${order.paymentReference ? ', paid' : ', not paid'}</div><div class="card"><span class="figure">${escapeHtml(order.shippingAddress.city)}</span>${escapeHtml(order.customer.name)} · ${escapeHtml(order.shippingAddress.country)}</div></section>
<h2>Lines</h2>${table(
      'lines',
      'What was ordered',
      ['SKU', 'Units', 'Unit price'],
      order.lines.map((line) => [
        escapeHtml(line.sku),
        n(line.quantity),
        `${(line.unitPrice / 100).toFixed(2)} ${escapeHtml(order.currency)}`,
      ]),
      'No lines.',
      [1, 2],
    )}<h2>Where the units are</h2>${table(
      'order-allocations',
      'Units allocated per warehouse',
      ['SKU', 'Warehouse', 'Units', 'State'],
      order.allocations.map((allocation) => [
        escapeHtml(allocation.sku),
        escapeHtml(allocation.warehouseId),
        n(allocation.quantity),
        allocation.status === 'backordered'
          ? `<span class="bad">${allocationWords[allocation.status]}</span>`
          : escapeHtml(allocationWords[allocation.status] ?? allocation.status),
      ]),
      'Nothing allocated: the order is not paid yet.',
      [2],
    )}<h2>Fulfillment</h2>${table(
      'order-fulfillments',
      'Fulfillment requests per warehouse',
      ['Warehouse', 'State', 'Cancel request'],
      order.fulfillments.map((fulfillment) => [
        escapeHtml(fulfillment.warehouseId),
        escapeHtml(fulfillmentWords[fulfillment.status] ?? fulfillment.status),
        escapeHtml(fulfillment.cancelState ?? '—'),
      ]),
      'No fulfillment requests yet.',
    )}${
      order.shipments.length
        ? `<h2>Shipments</h2>${table(
            'order-shipments',
            'Parcels that left',
            ['Carrier', 'Tracking number', 'Warehouse', 'State', 'Shipped'],
            order.shipments.map((shipment) => [
              escapeHtml(shipment.carrier),
              escapeHtml(shipment.trackingNumber),
              escapeHtml(shipment.warehouseId),
              escapeHtml(shipment.status),
              at(shipment.shippedAt),
            ]),
            'None.',
          )}`
        : ''
    }<h2>History</h2>${table(
      'order-history',
      'What happened, oldest first',
      ['When', 'What', 'Status'],
      order.history.map((entry) => [
        at(entry.at),
        `${escapeHtml(entry.event.replaceAll('_', ' '))}${entry.note ? ` <span class="muted">(${escapeHtml(entry.note)})</span>` : ''}`,
        escapeHtml(orderStatusWords[entry.to] ?? entry.to),
      ]),
      'No history.',
    )}`;
    return html(c, layout(session, '/orders', `Order ${order.number}`, content));
  });

  app.get(
    `${opsPath}/shortages`,
    page('/shortages', async (_c, session, nowMs) => {
      const { releaseRequests, backorders } = await shortagesOverview(deps.db, scopeOf(session));
      const row = (entry: (typeof backorders)[number]) => [
        escapeHtml(entry.orderNumber),
        escapeHtml(entry.sku),
        escapeHtml(entry.warehouseId),
        n(entry.quantity),
        ago(nowMs, entry.since),
      ];
      return [
        'Shortages and backorders',
        `<h2>Warehouses asked to release units</h2>${table(
          'release-requests',
          'A warehouse found fewer units than it had promised; waiting for its answer',
          ['Order', 'SKU', 'Warehouse', 'Units', 'Asked'],
          releaseRequests.map(row),
          'No release request is waiting.',
          [3],
        )}<h2>Backordered</h2>${table(
          'backorders',
          'Units of paid orders no warehouse had',
          ['Order', 'SKU', 'Warehouse', 'Units', 'Paid'],
          backorders.map(row),
          'Nothing is backordered.',
          [3],
        )}`,
      ];
    }),
  );

  app.get(
    `${opsPath}/webhooks`,
    page('/webhooks', async (c, session, nowMs) => {
      const { endpoints, deliveries } = await webhooksOverview(deps.db);
      const retried = c.req.query('retried');
      const failed = c.req.query('failed');
      const message = retried
        ? `<p class="message" role="status">Delivery ${escapeHtml(retried.slice(0, 64))} is being sent again now.</p>`
        : failed
          ? `<p class="message error" role="alert">${escapeHtml(failed.slice(0, 300))}</p>`
          : '';
      const state = (endpoint: (typeof endpoints)[number]) =>
        endpoint.disabled
          ? `<span class="pill bad">Disabled</span> <span class="muted">${escapeHtml(endpoint.disabledReason ?? '')}</span>`
          : endpoint.failingSince !== null
            ? `<span class="pill bad">Failing</span> since ${ago(nowMs, endpoint.failingSince)}`
            : '<span class="pill good">Healthy</span>';
      const retryButton = (delivery: (typeof deliveries)[number]) =>
        `<form class="inline" method="post" action="${opsPath}/webhooks/retry"><input type="hidden" name="csrf" value="${session.csrf}"><input type="hidden" name="endpointId" value="${escapeHtml(delivery.endpointId)}"><input type="hidden" name="deliveryId" value="${escapeHtml(delivery.id)}"><button type="submit" class="secondary" aria-label="Retry delivery ${escapeHtml(delivery.id)} (${escapeHtml(delivery.eventType)})">Retry</button></form>`;
      return [
        'Webhooks',
        `${message}<h2>Endpoints</h2>${table(
          'endpoints',
          'Webhook endpoints, failing first',
          ['Endpoint', 'State', 'Failed deliveries', 'Being retried'],
          endpoints.map((endpoint) => [
            escapeHtml(endpoint.url),
            state(endpoint),
            endpoint.failed > 0 ? `<span class="bad">${n(endpoint.failed)}</span>` : '0',
            n(endpoint.retrying),
          ]),
          'No webhook endpoints.',
          [2, 3],
        )}<h2>Deliveries that failed</h2>${table(
          'deliveries',
          'Failed deliveries and those being retried, newest first',
          ['Event', 'Endpoint', 'State', 'Attempts', 'Last answer', 'Last attempt', 'Action'],
          deliveries.map((delivery) => [
            escapeHtml(delivery.eventType),
            escapeHtml(delivery.endpointUrl),
            delivery.status === 'failed'
              ? '<span class="pill bad">Gave up</span>'
              : `<span class="pill warn">Retrying</span>${delivery.nextAttemptAt ? ` next ${delivery.nextAttemptAt <= nowMs ? 'now' : `in ${duration((delivery.nextAttemptAt - nowMs) / 1000)}`}` : ''}`,
            n(delivery.attempts),
            delivery.lastStatusCode !== null
              ? `HTTP ${delivery.lastStatusCode}`
              : escapeHtml((delivery.lastError ?? '').slice(0, 120)),
            ago(nowMs, delivery.lastAttemptAt),
            retryButton(delivery),
          ]),
          'No delivery is failing.',
          [3],
        )}`,
      ];
    }),
  );

  app.post(`${opsPath}/webhooks/retry`, formLimit, async (c) => {
    const session = await withSession(c);
    if (session instanceof Response) return session;
    const form = await c.req.parseBody();
    if (!sameOrigin(c) || !csrfMatches(session.token, form['csrf'])) {
      return html(
        c,
        messagePage('Not allowed', 'That form is out of date: reload the page and try again.', session),
        403,
      );
    }
    if (!may(session, 'webhooks.manage')) {
      return html(c, messagePage('Not allowed', 'Your role does not include webhooks.', session), 403);
    }
    const endpointId = typeof form['endpointId'] === 'string' ? form['endpointId'].slice(0, 64) : '';
    const deliveryId = typeof form['deliveryId'] === 'string' ? form['deliveryId'].slice(0, 64) : '';
    try {
      const queued = await retryDelivery(deps.db, session.principal, endpointId, deliveryId, deps.nowMs());
      return c.redirect(`${opsPath}/webhooks?retried=${encodeURIComponent(queued.id)}`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) && !asApiError(error)) throw error;
      const text = error instanceof Error ? error.message : 'the delivery could not be retried';
      return c.redirect(`${opsPath}/webhooks?failed=${encodeURIComponent(`Not retried: ${text}`)}`, 303);
    }
  });

  app.all(`${opsPath}/*`, async (c) => {
    const check = await readSession(c, deps, signedOut);
    return html(
      c,
      messagePage(
        'Not found',
        'There is no such page in the console.',
        check.kind === 'ok' ? check.session : undefined,
      ),
      404,
    );
  });
}
