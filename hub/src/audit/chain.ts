import { createHash } from 'node:crypto';

/** The previous hash of the first row. */
export const genesisHash = '0'.repeat(64);

/** The fields a row's hash covers, in a fixed order (docs/operations.md, "Audit trail"). */
export type ChainedRow = {
  seq: number;
  at: number;
  actor: string;
  actor_kind: string;
  source: string;
  request_id: string | null;
  action: string;
  target: string | null;
  digest: string;
};

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** hash = SHA-256(prev_hash + canonical row): the row as a JSON array, fields in a fixed order. */
export function rowHash(prevHash: string, row: ChainedRow): string {
  const canonical = JSON.stringify([
    Number(row.seq),
    Number(row.at),
    row.actor,
    row.actor_kind,
    row.source,
    row.request_id,
    row.action,
    row.target,
    row.digest,
  ]);
  return sha256(prevHash + canonical);
}

/** JSON with object keys sorted at every depth, so equal changes digest alike. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

const secretField = /password|secret|token|totp|otp|code|email|phone/i;

/**
 * Secrets and contact details never reach the digest: a hash of a short secret or an e-mail address
 * beside known fields could be guessed, and an erased customer must not stay findable by one.
 */
export function withoutSecrets(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(withoutSecrets);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      secretField.test(key) ? '[redacted]' : withoutSecrets(item),
    ]),
  );
}

/** The digest of what changed: SHA-256 of its canonical JSON, secrets redacted. */
export function changeDigest(change: unknown): string {
  return sha256(canonicalJson(withoutSecrets(change)));
}
