import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { limits } from '@dovetail/shared';

/**
 * Client secrets are 256 random bits, so SHA-256 suffices to store them (nothing to guess from a
 * dictionary). Staff passwords are chosen by people, so they get salted scrypt.
 */
export function newClientSecret(): string {
  // The prefix names what leaked (secret scanners match it) and keeps the secret from starting with
  // '-', which command-line parsers take for an option (`--client-secret -x…` failed at the edge).
  return `dvt_secret_${randomBytes(limits.clientSecretBytes).toString('base64url')}`;
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function clientSecretMatches(secret: string, storedHash: string): boolean {
  const candidate = Buffer.from(hashClientSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return candidate.length === stored.length && timingSafeEqual(candidate, stored);
}

const scryptCost = { N: 16384, r: 8, p: 1 } as const;
const scryptKeyBytes = 32;

function scryptAsync(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // NFKC, as the edge does when it verifies this hash from the replicated roster: the same
    // password typed as composed or decomposed characters must match on both sides.
    scrypt(password.normalize('NFKC'), salt, scryptKeyBytes, { ...cost, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, scryptCost);
  return `scrypt$${scryptCost.N}$${scryptCost.r}$${scryptCost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to compare against when the user does not exist, so timing does not reveal usernames. */
export const decoyPasswordHash = `scrypt$${scryptCost.N}$${scryptCost.r}$${scryptCost.p}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`;
