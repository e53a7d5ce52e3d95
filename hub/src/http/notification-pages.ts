import { createHash } from 'node:crypto';
import { DomainError, escapeHtml, feedbackFormSchema, limits } from '@dovetail/shared';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context as HonoContext } from 'hono';
import { answerFeedback, feedbackRequest } from '../notifications/feedback.ts';
import { optOut, optOutStatus } from '../notifications/opt-out.ts';
import { RateLimiter } from './rate-limit.ts';
import type { HubDeps } from './trpc.ts';

/**
 * The customer's pages behind links in notifications: `/unsubscribe/{token}` (RFC 8058 one-click
 * opt-out per channel) and `/feedback/{token}` (one question after delivery). Server-rendered HTML,
 * no scripts, one hashed stylesheet, forms posting only to this origin; no personal data shown (the
 * token is the only key, and links get forwarded). GET never changes anything: mail scanners fetch
 * links. Rate-limited per client address.
 */

const style = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1b;background:#f6f4f0}
main{max-width:36rem;margin:0 auto;padding:1rem}h1{font-size:1.35rem;margin:.5rem 0}.muted{color:#5f5b55;font-size:.9rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin:.75rem 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
fieldset{border:0;padding:0;margin:0 0 1rem;display:flex;gap:.5rem;flex-wrap:wrap}legend{font-weight:600;margin-bottom:.5rem}
fieldset label{display:flex;flex-direction:column;align-items:center;min-width:3.5rem;padding:.5rem;border:1px solid #c9c2b6;border-radius:.5rem}
textarea{width:100%;font:inherit;padding:.5rem;border:1px solid #c9c2b6;border-radius:.5rem}
button{font:inherit;font-weight:600;color:#fff;background:#3d5a40;border:0;border-radius:.5rem;padding:.6rem 1.2rem;margin-top:.75rem}
.error{color:#9b2c2c;font-weight:600}`;
const styleHash = createHash('sha256').update(style).digest('base64');

/** No scripts, images or frames; forms may post to this origin only; the token never leaves in a Referer. */
const headers = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
  'x-frame-options': 'DENY',
};

function page(brand: string, title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · ${escapeHtml(brand)}</title><style>${style}</style></head><body><main><p class="muted">${escapeHtml(brand)}</p>${body}</main></body></html>`;
}

const channelWords = { email: 'e-mails', sms: 'text messages' } as const;

const linkNotFound = (brand: string) =>
  page(
    brand,
    'Link not found',
    '<h1>This link does not open anything</h1><p>Check that the whole link was copied from the message.</p>',
  );

function clientAddress(c: HonoContext): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

function feedbackForm(brand: string, orderNumber: string, error?: string): string {
  const labels = ['poor', 'fair', 'good', 'very good', 'excellent'];
  const options = labels
    .map(
      (label, index) =>
        `<label><input type="radio" name="rating" value="${index + 1}" required><span>${index + 1}</span><span class="muted">${label}</span></label>`,
    )
    .join('');
  return page(
    brand,
    'How was your delivery?',
    `<h1>How was your delivery?</h1><p class="muted">Order ${escapeHtml(orderNumber)}</p>
<section class="card">${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}<form method="post">
<fieldset><legend>Your rating, from 1 to 5</legend>${options}</fieldset>
<label for="comment">Anything you would like to tell us? (optional)</label>
<textarea id="comment" name="comment" rows="4" maxlength="${limits.feedbackCommentLengthMax}"></textarea>
<button type="submit">Send</button></form></section>`,
  );
}

const isForm = (c: HonoContext) => {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
};

export function createNotificationPages(deps: HubDeps, brand: string) {
  const limiter = new RateLimiter(
    limits.notificationPageRequestsPerSecond,
    limits.notificationPageRequestsBurst,
    deps.nowMs,
  );
  /** The budget check every page runs first: past it, a 429 page. */
  const overBudget = (c: HonoContext): Response | undefined => {
    const budget = limiter.take(clientAddress(c));
    if (budget.ok) return undefined;
    return c.html(page(brand, 'Too many requests', '<h1>Too many requests</h1><p>Try again in a minute.</p>'), 429, {
      ...headers,
      'retry-after': String(budget.retryAfterSeconds),
    });
  };

  return {
    /** `GET /unsubscribe/{token}`: what the link would stop, and a button; changes nothing. */
    async unsubscribeForm(c: HonoContext): Promise<Response> {
      const refused = overBudget(c);
      if (refused) return refused;
      const status = await optOutStatus(deps.db, c.req.param('token') ?? '');
      if (!status) return c.html(linkNotFound(brand), 404, headers);
      const words = channelWords[status.channel];
      if (status.optedOut) {
        return c.html(
          page(
            brand,
            'Unsubscribed',
            `<h1>You are unsubscribed</h1><p>You get no more ${words} from ${escapeHtml(brand)} about your orders.</p>`,
          ),
          200,
          headers,
        );
      }
      return c.html(
        page(
          brand,
          'Unsubscribe',
          `<h1>Stop ${words} about your orders?</h1><section class="card"><p>${escapeHtml(brand)} will stop sending you ${words} about your orders. Other messages are not affected.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form></section>`,
        ),
        200,
        headers,
      );
    },

    /**
     * `POST /unsubscribe/{token}`: RFC 8058 one-click (a mail client posts `List-Unsubscribe=One-Click`)
     * or the page's button. Opts the recipient out of that channel; repeating it changes nothing.
     */
    async unsubscribe(c: HonoContext): Promise<Response> {
      const refused = overBudget(c);
      if (refused) return refused;
      const status = await optOut(deps.db, c.req.param('token') ?? '', deps.nowMs());
      if (!status) return c.html(linkNotFound(brand), 404, headers);
      const words = channelWords[status.channel];
      return c.html(
        page(
          brand,
          'Unsubscribed',
          `<h1>You are unsubscribed</h1><p>You will get no more ${words} from ${escapeHtml(brand)} about your orders.</p>`,
        ),
        200,
        headers,
      );
    },

    /** `GET /feedback/{token}`: the one question, or a thank-you once answered; changes nothing. */
    async feedbackForm(c: HonoContext): Promise<Response> {
      const refused = overBudget(c);
      if (refused) return refused;
      const request = await feedbackRequest(deps.db, c.req.param('token') ?? '');
      if (!request) return c.html(linkNotFound(brand), 404, headers);
      if (request.answered) return c.html(alreadyAnswered(brand, request.orderNumber), 200, headers);
      return c.html(feedbackForm(brand, request.orderNumber), 200, headers);
    },

    /** `POST /feedback/{token}`: a rating 1–5 and an optional comment, once per order. */
    async feedbackAnswer(c: HonoContext): Promise<Response> {
      const refused = overBudget(c);
      if (refused) return refused;
      const token = c.req.param('token') ?? '';
      const request = await feedbackRequest(deps.db, token);
      if (!request) return c.html(linkNotFound(brand), 404, headers);
      if (!isForm(c)) {
        return c.html(feedbackForm(brand, request.orderNumber, 'Please send the form from this page.'), 415, headers);
      }
      const body = await c.req.parseBody();
      const parsed = feedbackFormSchema.safeParse({
        rating: typeof body['rating'] === 'string' ? body['rating'] : undefined,
        comment: typeof body['comment'] === 'string' ? body['comment'] : undefined,
      });
      if (!parsed.success) {
        const message = parsed.error.issues[0]?.message ?? 'Please choose a rating from 1 to 5.';
        return c.html(feedbackForm(brand, request.orderNumber, message), 400, headers);
      }
      try {
        await answerFeedback(deps.db, token, parsed.data, deps.nowMs());
      } catch (error) {
        if (error instanceof DomainError && error.code === 'feedback_already_given') {
          return c.html(alreadyAnswered(brand, request.orderNumber), 409, headers);
        }
        if (error instanceof DomainError && error.kind === 'not_found')
          return c.html(linkNotFound(brand), 404, headers);
        throw error;
      }
      return c.html(
        page(
          brand,
          'Thank you',
          `<h1>Thank you</h1><p>We have your answer for order ${escapeHtml(request.orderNumber)}. It helps us deliver better.</p>`,
        ),
        200,
        headers,
      );
    },
  };
}

const alreadyAnswered = (brand: string, orderNumber: string) =>
  page(
    brand,
    'Already answered',
    `<h1>Thank you, we already have your answer</h1><p>Order ${escapeHtml(orderNumber)} was rated before; one answer per order is kept.</p>`,
  );
