import { limits, type Permission } from '@dovetail/shared';
import type { Context as HonoContext } from 'hono';
import { recordAudit } from '../audit/service.ts';
import { authenticateClient, scopesForRole } from '../identity/clients.ts';
import { audienceFor } from '../identity/principal.ts';
import { clientAddress } from './client-address.ts';
import { requestIdOf } from './observability.ts';
import type { HubDeps } from './trpc.ts';

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

function oauthError(
  c: HonoContext,
  status: 400 | 401 | 429,
  error: string,
  description: string,
  extra: Record<string, string> = {},
): Response {
  return c.json({ error, error_description: description }, status, { ...noStore, ...extra });
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header ? /^Basic ([A-Za-z0-9+/=]+)$/.exec(header.trim()) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

/**
 * `POST /oauth/token`: the client_credentials grant (RFC 6749 §4.4) for storefronts, 3PLs and
 * edges. Errors follow §5.2 (`invalid_request`, `invalid_client` 401, `unsupported_grant_type`,
 * `invalid_scope`); every answer carries `Cache-Control: no-store`; there is no refresh token.
 */
export function createTokenHandler(deps: HubDeps) {
  return async function tokenHandler(c: HonoContext): Promise<Response> {
    const contentType = c.req.header('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(
        c,
        400,
        'invalid_request',
        'send the parameters form-encoded (application/x-www-form-urlencoded)',
      );
    }
    const text = await c.req.text();
    if (text.length > limits.tokenRequestBytesMax) return oauthError(c, 400, 'invalid_request', 'request too large');
    const form = new URLSearchParams(text);
    for (const name of new Set(form.keys())) {
      if (form.getAll(name).length > 1) return oauthError(c, 400, 'invalid_request', `parameter ${name} repeated`);
    }
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError(c, 400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials')
      return oauthError(c, 400, 'unsupported_grant_type', 'only client_credentials is supported');

    const basic = basicCredentials(c.req.header('authorization'));
    const bodyId = form.get('client_id');
    const bodySecret = form.get('client_secret');
    if (basic && bodySecret) return oauthError(c, 400, 'invalid_request', 'use one client authentication method');
    const clientId = basic?.id ?? bodyId;
    const clientSecret = basic?.secret ?? bodySecret;
    if (!clientId || !clientSecret) {
      return oauthError(c, 401, 'invalid_client', 'client authentication is required', {
        'www-authenticate': 'Basic realm="dovetail"',
      });
    }
    // No client id or secret is that long or holds a NUL (which PostgreSQL cannot compare: a 500).
    if (clientId.length > 200 || clientSecret.length > 200 || `${clientId}${clientSecret}`.includes('\u0000'))
      return oauthError(c, 401, 'invalid_client', 'client authentication failed');
    // Budgets and slow-downs are per source address and client id together: guessing at `admin`
    // from one address never refuses the real admin elsewhere (shared/src/auth/sign-in-guard.ts).
    const source = clientAddress(c);
    const budget = deps.tokenRateLimiter.take(`${source}\n${clientId}`);
    if (!budget.ok) {
      return oauthError(
        c,
        429,
        'invalid_request',
        'too many token requests; reuse the token until it expires',
        deps.tokenRateLimiter.headers(budget),
      );
    }
    const throttle = deps.loginThrottle.begin(source, `client:${clientId}`);
    if (!throttle.ok) {
      return oauthError(c, 429, 'invalid_request', 'too many failed attempts; try later', {
        'retry-after': String(throttle.retryAfterSeconds),
      });
    }
    const verified = await authenticateClient(deps.db, clientId, clientSecret);
    const client = verified.client;
    if (!client) {
      deps.loginThrottle.recordFailure(source, `client:${clientId}`, 'known' in verified && verified.known);
      // Every refused client authentication is in the audit trail (docs/operations.md).
      await recordAudit(
        deps.db,
        deps.dialect,
        {
          actor: clientId,
          actorKind: 'unauthenticated',
          source,
          requestId: requestIdOf(c),
          action: 'auth.token_refused',
          target: clientId,
          change: { clientId, reason: 'invalid_client' },
        },
        deps.nowMs(),
      );
      return oauthError(
        c,
        401,
        'invalid_client',
        'client authentication failed',
        basic ? { 'www-authenticate': 'Basic realm="dovetail"' } : {},
      );
    }
    deps.loginThrottle.recordSuccess(source, `client:${clientId}`);

    const allowed = scopesForRole(client.role);
    const requestedText = form.get('scope');
    if (requestedText !== null && requestedText.length > limits.scopeLengthMax)
      return oauthError(c, 400, 'invalid_scope', 'scope too long');
    const requested = requestedText === null ? allowed : (requestedText.split(' ').filter(Boolean) as Permission[]);
    const beyond = requested.filter((scope) => !allowed.includes(scope));
    if (beyond.length > 0 || requested.length === 0) {
      return oauthError(c, 400, 'invalid_scope', `scope not granted to this client: ${beyond.join(' ') || '(empty)'}`);
    }
    const scope = [...new Set(requested)].join(' ');
    const accessToken = await deps.keys.sign(
      { sub: client.id, role: client.role, wh: client.warehouses, scope, knd: 'client', epoch: client.epoch },
      audienceFor(client.role),
      limits.accessTokenTtlSeconds,
    );
    return c.json(
      { access_token: accessToken, token_type: 'Bearer', expires_in: limits.accessTokenTtlSeconds, scope },
      200,
      noStore,
    );
  };
}
