import { limits } from '@dovetail/shared';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { isWrapped, unwrapPrivateKey, wrapPrivateKey } from './key-wrap.ts';

export const tokenAlgorithm = 'ES256';
export const accessTokenType = 'at+jwt';
const reloadCooldownMs = 5_000;

type LoadedKey = {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey | undefined;
  retired: boolean;
};

/**
 * The hub's token signing keys (ES256), kept in the database so every instance signs and verifies
 * with the same set. One active key signs; retired keys stay published in the JWKS (up to
 * `signingKeysPublishedMax`) so tokens they signed verify until they expire. A token naming an
 * unknown kid reloads the set at most once per cooldown (another instance may have rotated).
 *
 * The private key is stored as a JWK in the database, sealed with AES-256-GCM under the
 * key-encryption key (`key-wrap.ts`; the hub process always has one, see `key-file.ts`); keys a hub
 * without one stored in plain text are sealed when a hub with one starts.
 */
export class KeyStore {
  private keys: LoadedKey[] = [];
  private lastReloadMs = 0;

  constructor(
    private readonly db: Kysely<Database>,
    readonly issuer: string,
    private readonly nowMs: () => number = Date.now,
    private readonly keyEncryptionKey?: Buffer,
  ) {}

  async init(): Promise<void> {
    await this.sealPlaintextKeys();
    await this.reload();
    if (!this.keys.some((key) => !key.retired)) await this.rotate();
  }

  /**
   * With a key-encryption key, private keys stored as plain JWK (by a hub that had none) are sealed
   * in place. Each update names the plaintext it replaces, so instances starting together seal once.
   */
  private async sealPlaintextKeys(): Promise<void> {
    const kek = this.keyEncryptionKey;
    if (!kek) return;
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    for (const row of rows) {
      if (isWrapped(row.private_jwk)) continue;
      await this.db
        .updateTable('signing_keys')
        .set({ private_jwk: wrapPrivateKey(row.private_jwk, row.kid, kek) })
        .where('kid', '=', row.kid)
        .where('private_jwk', '=', row.private_jwk)
        .execute();
    }
  }

  private async reload(): Promise<void> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    const loaded: LoadedKey[] = [];
    for (const row of rows.slice(0, limits.signingKeysPublishedMax)) {
      const publicJwk = JSON.parse(row.public_jwk) as JWK;
      loaded.push({
        kid: row.kid,
        publicJwk,
        publicKey: (await importJWK(publicJwk, tokenAlgorithm)) as CryptoKey,
        privateKey:
          row.retired_at === null
            ? ((await importJWK(
                JSON.parse(unwrapPrivateKey(row.private_jwk, row.kid, this.keyEncryptionKey)) as JWK,
                tokenAlgorithm,
              )) as CryptoKey)
            : undefined,
        retired: row.retired_at !== null,
      });
    }
    this.keys = loaded;
    this.lastReloadMs = this.nowMs();
  }

  /** Makes a new key the signing key; the previous ones are retired but stay published. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(tokenAlgorithm, { extractable: true });
    const now = this.nowMs();
    const kid = `k${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: tokenAlgorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: tokenAlgorithm };
    const storedPrivate = this.keyEncryptionKey
      ? wrapPrivateKey(JSON.stringify(privateJwk), kid, this.keyEncryptionKey)
      : JSON.stringify(privateJwk);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      await trx
        .insertInto('signing_keys')
        .values({
          kid,
          public_jwk: JSON.stringify(publicJwk),
          private_jwk: storedPrivate,
          created_at: now,
          retired_at: null,
        })
        .execute();
      const stale = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .offset(limits.signingKeysPublishedMax)
        .limit(1000)
        .execute();
      if (stale.length > 0)
        await trx
          .deleteFrom('signing_keys')
          .where(
            'kid',
            'in',
            stale.map((row) => row.kid),
          )
          .execute();
    });
    await this.reload();
    return kid;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  async sign(claims: JWTPayload & { sub: string }, audience: string, ttlSeconds: number): Promise<string> {
    let active = this.keys.find((key) => !key.retired);
    if (!active?.privateKey) {
      await this.reload();
      active = this.keys.find((key) => !key.retired);
    }
    if (!active?.privateKey) throw new Error('no active signing key');
    const now = Math.floor(this.nowMs() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: tokenAlgorithm, kid: active.kid, typ: accessTokenType })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(active.privateKey);
  }

  /**
   * Verifies signature, algorithm (pinned to ES256; `none` and HMAC never pass), `typ`, issuer,
   * audience, expiry and not-before. `jku`/`x5u`/`jwk` headers are ignored: keys come from here only.
   */
  async verify(token: string, audience: string | string[]): Promise<JWTPayload> {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        let key = this.keys.find((candidate) => candidate.kid === header.kid);
        if (!key && this.nowMs() - this.lastReloadMs > reloadCooldownMs) {
          await this.reload();
          key = this.keys.find((candidate) => candidate.kid === header.kid);
        }
        if (!key) throw new Error('unknown kid');
        return key.publicKey;
      },
      {
        algorithms: [tokenAlgorithm],
        issuer: this.issuer,
        audience,
        typ: accessTokenType,
        clockTolerance: limits.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: new Date(this.nowMs()),
      },
    );
    return payload;
  }
}
