import { type Role, limits, roles, seesEveryRecord } from '@dovetail/shared';
import { type JWTPayload, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

/** An outside OpenID Connect issuer whose tokens the hub accepts, verified through its JWKS URL. */
export type ExternalIssuerConfig = {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** How long an unknown kid waits before it may refetch the JWKS again (default 30 s). */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is trusted before the next token makes it refetch (default 10 min). */
  jwksCacheMaxAgeMs?: number;
};

/** Asymmetric algorithms only: an HMAC "signed" with a published key must never verify. */
const externalAlgorithms = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

/** Roles an outside issuer may grant; edges are enrolled here, never vouched for by someone else. */
const externalRoles = roles.filter((role) => role !== 'edge');

export type ExternalIdentity = {
  subject: string;
  role: Role;
  warehouses: string[] | '*';
  scope: string | undefined;
  expiresAtMs: number;
};

/**
 * Verifies tokens from one configured issuer: signature by a key from its JWKS (jose refetches an
 * unknown kid at most once per cooldown and caches the set), pinned asymmetric algorithms, `iss`,
 * `aud`, `exp` and `nbf`. Dovetail's claims: `dovetail_role` (a role) and `dovetail_warehouses` (an
 * array; required for warehouse-scoped roles, `*` implied for admin, customer_service, storefront).
 */
export class ExternalIssuer {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    readonly config: ExternalIssuerConfig,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
      cooldownDuration: config.jwksCooldownMs ?? 30_000,
      cacheMaxAge: config.jwksCacheMaxAgeMs ?? 10 * 60_000,
      timeoutDuration: 5_000,
    });
  }

  /** Whether this token claims to come from the external issuer (unverified peek at `iss`). */
  claims(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.config.issuer;
    } catch {
      return false;
    }
  }

  async verify(token: string): Promise<ExternalIdentity | { error: string }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: externalAlgorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: limits.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.nowMs()),
      }));
    } catch {
      return { error: 'invalid or expired token' };
    }
    const role = payload['dovetail_role'];
    if (typeof role !== 'string' || !(externalRoles as readonly string[]).includes(role))
      return { error: 'token names no Dovetail role' };
    const claimed = payload['dovetail_warehouses'];
    // A storefront sells from every warehouse (though it sees only its own orders).
    const unscoped = seesEveryRecord(role as Role) || role === 'storefront';
    let warehouses: string[] | '*';
    if (Array.isArray(claimed) && claimed.every((id) => typeof id === 'string') && claimed.length <= 1_000)
      warehouses = claimed as string[];
    else if (unscoped) warehouses = '*';
    else return { error: 'token names no warehouses for a warehouse-scoped role' };
    const scope = typeof payload['scope'] === 'string' ? payload['scope'] : undefined;
    return {
      subject: `${this.config.issuer}#${payload.sub}`,
      role: role as Role,
      warehouses,
      scope,
      expiresAtMs: Number(payload.exp) * 1000,
    };
  }
}
