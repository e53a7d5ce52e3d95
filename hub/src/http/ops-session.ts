import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { authorize, type Permission } from '@dovetail/shared';
import type { Context as HonoContext } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { decodeJwt } from 'jose';
import type { AuthPrincipal } from '../identity/principal.ts';
import type { HubDeps } from './trpc.ts';

/**
 * The operations console's session: the staff token `POST /auth/login` issues, kept in a cookie
 * the page's scripts cannot read (HttpOnly), sent only to `/ops` on same-site requests
 * (SameSite=Strict), Secure whenever the hub is reached over TLS. Every POST also carries a CSRF
 * token derived from the session token (an attacker's page can neither read the cookie nor compute
 * it) and must come from this origin.
 */

export const sessionCookie = 'dovetail_ops';
export const opsPath = '/ops';

/** Who may open the console at all: staff holding `edges.read` (admins, supervisors, customer service). */
export const consolePermission: Permission = 'edges.read';

export type OpsSession = { token: string; principal: AuthPrincipal; username: string; csrf: string };

/** Whether the request reached the hub over TLS (directly, through a proxy that says so, or by configuration). */
export function overTls(c: HonoContext, publicUrl: string): boolean {
  return (
    new URL(c.req.url).protocol === 'https:' ||
    c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ||
    publicUrl.startsWith('https:')
  );
}

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('dovetail-ops-csrf').digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length > 128) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * A form POST from another site is refused before anything else: browsers send `Origin` on POST,
 * and `Sec-Fetch-Site` where they support it. A request with neither (curl) passes to the CSRF check.
 */
export function sameOrigin(c: HonoContext): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() ?? c.req.header('host');
    return new URL(origin).host === (host ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

/** Tokens signed out on this instance, kept until they would have expired anyway (bounded). */
export class SignedOut {
  readonly #until = new Map<string, number>();
  constructor(private readonly nowMs: () => number) {}

  add(token: string, expiresAtMs: number): void {
    const now = this.nowMs();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
    if (this.#until.size >= 10_000) {
      const oldest = this.#until.keys().next();
      if (!oldest.done) this.#until.delete(oldest.value);
    }
    this.#until.set(createHash('sha256').update(token).digest('base64url'), expiresAtMs);
  }

  has(token: string): boolean {
    const until = this.#until.get(createHash('sha256').update(token).digest('base64url'));
    return until !== undefined && until > this.nowMs();
  }
}

export function setSessionCookie(c: HonoContext, token: string, maxAgeSeconds: number, secure: boolean): void {
  setCookie(c, sessionCookie, token, {
    path: opsPath,
    httpOnly: true,
    secure,
    sameSite: 'Strict',
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(c: HonoContext, secure: boolean): void {
  deleteCookie(c, sessionCookie, { path: opsPath, httpOnly: true, secure, sameSite: 'Strict' });
}

export type SessionCheck =
  | { kind: 'ok'; session: OpsSession }
  | { kind: 'none' }
  | { kind: 'forbidden'; message: string; username: string };

/** The signed-in staff member, if the cookie holds a live staff token of a role the console serves. */
export async function readSession(c: HonoContext, deps: HubDeps, signedOut: SignedOut): Promise<SessionCheck> {
  const token = getCookie(c, sessionCookie);
  if (!token || token.length > 4096 || signedOut.has(token)) return { kind: 'none' };
  const result = await deps.authenticator.authenticate(`Bearer ${token}`);
  if (!result?.ok) return { kind: 'none' };
  const { principal } = result;
  // Verified by the authenticator just now; the name claim is only for display.
  const name = decodeJwt(token)['name'];
  const username = typeof name === 'string' ? name : principal.subject;
  if (principal.kind !== 'staff') {
    return { kind: 'forbidden', message: 'The console is for staff accounts.', username };
  }
  const decision = authorize(principal, consolePermission);
  if (!decision.ok) {
    return {
      kind: 'forbidden',
      message: `Your role (${principal.role.replace('_', ' ')}) does not include the operations console.`,
      username,
    };
  }
  return { kind: 'ok', session: { token, principal, username, csrf: csrfTokenFor(token) } };
}

/** Whether the session may see one page of the console (its role holds the page's permission). */
export function may(session: OpsSession, permission: Permission): boolean {
  return authorize(session.principal, permission).ok && session.principal.scopes.has(permission);
}
