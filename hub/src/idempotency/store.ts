import { createHash } from 'node:crypto';
import { limits } from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.ts';
import { type PersonalDataVault, vaultOf } from '../db/personal-data.ts';
import type { IdempotencyKeysTable } from './tables.ts';

export type StoredResponse = { status: number; body: string; headers: Record<string, string> };

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' };

/** What makes two requests "the same" for a key: method, path and the exact body text. */
export function requestFingerprint(method: string, path: string, bodyText: string | undefined): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${bodyText ?? ''}`)
    .digest('hex');
}

function decide(row: Selectable<IdempotencyKeysTable>, fingerprint: string, vault: PersonalDataVault): Claim {
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'in_flight' || row.status === null || row.body === null) return { kind: 'in_flight' };
  return {
    kind: 'replay',
    response: {
      status: Number(row.status),
      body: vault.openRecord(row.body),
      headers: JSON.parse(row.headers_json ?? '{}') as Record<string, string>,
    },
  };
}

/**
 * Claims `(scope, key)` for one request. The insert is the lock: of two racing requests exactly one
 * inserts; the other reads the row and is told the key is in flight (409), or gets the stored
 * response once it is done. Rows older than the retention period are forgotten; an in-flight claim
 * older than `idempotencyInFlightAbandonMs` belonged to a process that died and may be taken over.
 */
export async function claimIdempotencyKey(
  db: Kysely<Database>,
  scope: string,
  key: string,
  fingerprint: string,
  nowMs: number,
): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        scope,
        key,
        fingerprint,
        state: 'in_flight',
        status: null,
        body: null,
        headers_json: null,
        created_at: nowMs,
      })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { kind: 'claimed' };
    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) continue;
    const createdAt = Number(row.created_at);
    const expired = nowMs - createdAt > limits.idempotencyRetentionSeconds * 1000;
    const abandoned = row.state === 'in_flight' && nowMs - createdAt > limits.idempotencyInFlightAbandonMs;
    if (expired || (abandoned && row.fingerprint === fingerprint)) {
      await db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('created_at', '=', createdAt)
        .execute();
      continue;
    }
    return decide(row, fingerprint, vaultOf(db));
  }
  return { kind: 'in_flight' };
}

export async function completeIdempotencyKey(
  db: Kysely<Database>,
  scope: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      state: 'done',
      status: response.status,
      // Sealed: a replayed order carries the customer (docs/operations.md, "Personal data").
      body: vaultOf(db).sealRecord(response.body),
      headers_json: JSON.stringify(response.headers),
    })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/** Forgets a claim whose request had no effect (bad input, auth, server error), so a retry runs. */
export async function releaseIdempotencyKey(db: Kysely<Database>, scope: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('state', '=', 'in_flight')
    .execute();
}
