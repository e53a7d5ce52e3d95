import { limits, type Permission, type Principal, permissions, type Role, roles } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { type ClientStanding, clientStanding, scopesForRole } from './clients.ts';
import type { ExternalIssuer } from './external.ts';
import type { KeyStore } from './keys.ts';
import { staffIsActive } from './staff.ts';

export const apiAudience = 'dovetail-api';
/**
 * Edge machine tokens name another audience than people's and API clients' (RFC 8725 §3.9): a token
 * is accepted only with the audience of its kind, so an access token re-labelled with the edge role,
 * or an edge token re-labelled with another, never verifies. Webhooks carry no token (Standard
 * Webhooks HMAC signatures, webhooks/signature.ts).
 */
export const syncAudience = 'dovetail-sync';

/** The audience a token for this role is minted for. */
export function audienceFor(role: Role): string {
  return role === 'edge' ? syncAudience : apiAudience;
}

/** `external`: vouched for by a configured outside OIDC issuer (no local record to revoke). */
export type AuthPrincipal = Principal & {
  kind: 'client' | 'staff' | 'external';
  scopes: ReadonlySet<Permission>;
  epoch: number;
  /** The client's own request budget, when an operator set one; else the hub's default applies. */
  budget?: { perSecond: number; burst: number } | undefined;
};

export type TokenClaims = {
  sub: string;
  role: Role;
  wh: string[] | '*';
  scope: string;
  knd: 'client' | 'staff';
  epoch: number;
};

export type AuthResult = { ok: true; principal: AuthPrincipal } | { ok: false; message: string };

const permissionNames = new Set(Object.keys(permissions));

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/**
 * Turns `Authorization: Bearer …` into a principal. Revocation and re-enrollment take effect
 * within `principalCacheMs`: whether the client (at that epoch) or staff member is still active is
 * looked up in the database and remembered briefly.
 */
export class Authenticator {
  private readonly activeCache = new Map<string, ClientStanding & { atMs: number }>();
  /**
   * Verified tokens, remembered for at most `principalCacheMs` and never past their expiry: an
   * ES256 verification is most of an authenticated request's cost, and a client sends the same
   * token many times. Revocation is rechecked on the same period, so nothing outlives it.
   */
  private readonly verifiedCache = new Map<string, { principal: AuthPrincipal; atMs: number; expiresAtMs: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly keys: KeyStore,
    private readonly nowMs: () => number = Date.now,
    private readonly external?: ExternalIssuer,
  ) {}

  async authenticate(authorization: string | undefined): Promise<AuthResult | null> {
    if (!authorization) return null;
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
    if (!match?.[1]) return { ok: false, message: 'malformed bearer token' };
    const now = this.nowMs();
    const remembered = this.verifiedCache.get(match[1]);
    if (remembered && now - remembered.atMs < limits.principalCacheMs && now < remembered.expiresAtMs) {
      return { ok: true, principal: remembered.principal };
    }
    if (this.external?.claims(match[1])) return this.authenticateExternal(match[1], this.external, now);
    let payload: Record<string, unknown>;
    try {
      payload = await this.keys.verify(match[1], [apiAudience, syncAudience]);
    } catch {
      return { ok: false, message: 'invalid or expired token' };
    }
    const { sub, role, wh, scope, knd, epoch } = payload;
    const warehousesOk = wh === '*' || (Array.isArray(wh) && wh.every((id) => typeof id === 'string'));
    if (
      typeof sub !== 'string' ||
      !isRole(role) ||
      !warehousesOk ||
      typeof scope !== 'string' ||
      (knd !== 'client' && knd !== 'staff') ||
      typeof epoch !== 'number'
    ) {
      return { ok: false, message: 'token claims are malformed' };
    }
    if (payload.aud !== audienceFor(role)) return { ok: false, message: 'token audience does not fit its role' };
    const standing = await this.standing(knd, sub, epoch);
    if (!standing.active) return { ok: false, message: 'credentials were revoked' };
    const scopes = new Set(scope.split(' ').filter((name) => permissionNames.has(name)) as Permission[]);
    const principal: AuthPrincipal = {
      subject: sub,
      role,
      warehouses: wh as string[] | '*',
      kind: knd,
      scopes,
      epoch,
      ...(standing.budget ? { budget: standing.budget } : {}),
    };
    if (this.verifiedCache.size >= 10_000) this.verifiedCache.clear();
    this.verifiedCache.set(match[1], { principal, atMs: now, expiresAtMs: Number(payload['exp']) * 1000 });
    return { ok: true, principal };
  }

  private async authenticateExternal(token: string, external: ExternalIssuer, now: number): Promise<AuthResult> {
    const identity = await external.verify(token);
    if ('error' in identity) return { ok: false, message: identity.error };
    const allowed = scopesForRole(identity.role);
    const asked = identity.scope?.split(' ').filter(Boolean);
    const scopes = new Set(asked ? allowed.filter((permission) => asked.includes(permission)) : allowed);
    const principal: AuthPrincipal = {
      subject: identity.subject,
      role: identity.role,
      warehouses: identity.warehouses,
      kind: 'external',
      scopes,
      epoch: 0,
    };
    if (this.verifiedCache.size >= 10_000) this.verifiedCache.clear();
    this.verifiedCache.set(token, { principal, atMs: now, expiresAtMs: identity.expiresAtMs });
    return { ok: true, principal };
  }

  /** Whether the client (at that epoch) or staff member is still active, and a client's budget. */
  private async standing(kind: 'client' | 'staff', subject: string, epoch: number): Promise<ClientStanding> {
    const key = `${kind}:${subject}:${epoch}`;
    const now = this.nowMs();
    const cached = this.activeCache.get(key);
    if (cached && now - cached.atMs < limits.principalCacheMs) return cached;
    const standing =
      kind === 'client'
        ? await clientStanding(this.db, subject, epoch)
        : { active: await staffIsActive(this.db, subject), budget: undefined };
    if (this.activeCache.size > 10_000) this.activeCache.clear();
    this.activeCache.set(key, { ...standing, atMs: now });
    return standing;
  }

  /** Forget cached answers at once (after a revocation on this instance). */
  forget(): void {
    this.activeCache.clear();
    this.verifiedCache.clear();
  }
}
