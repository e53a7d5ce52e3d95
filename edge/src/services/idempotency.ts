import { DomainError, type ErrorBody, limits, statusOfErrorKind } from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';

/**
 * A stored answer (or a refusal to reuse the key), as every staff write returns it. `json` is the
 * body already serialized (as stored for the key), so the HTTP layer sends it without a second
 * `JSON.stringify`; undefined when only `body` is at hand.
 */
export type StoredAnswer = { status: number; body: unknown; replayed: boolean; json?: string };

/**
 * A refused staff write as the answer recorded for its Idempotency-Key and sent back: the status
 * of the error's kind from the shared table, the shared error body. The HTTP layer sends a thrown
 * DomainError through the same function (http/errors.ts), so a replayed refusal and a fresh one
 * read alike.
 */
export function refusalAnswer(error: DomainError): StoredAnswer {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.details !== undefined) body.error.details = error.details;
  return { status: statusOfErrorKind[error.kind], body, replayed: false };
}
export type IdempotencyClaim = { scope: string; key: string; requestHash: string };

/**
 * `Idempotency-Key` for the edge's staff writes (scans and fulfillment actions), kept in the
 * `idempotency` table beside the work it answers: looked up and stored inside the caller's
 * transaction, so an answer is stored if and only if its work committed. Same key and request:
 * the first answer again; same key, another request: 422.
 */
export class IdempotencyStore {
  readonly #find;
  readonly #store;
  readonly #prune;

  constructor(db: EdgeDatabase) {
    this.#find = db.prepare<[string, string], { request_hash: string; status: number; body: string }>(
      'SELECT request_hash, status, body FROM idempotency WHERE scope = ? AND key = ?',
    );
    this.#store = db.prepare(
      'INSERT INTO idempotency (scope, key, request_hash, status, body, created_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING',
    );
    this.#prune = db.prepare('DELETE FROM idempotency WHERE created_ms < ?');
  }

  /** The answer already given under this key, or undefined when the key is new. */
  replay(claim: IdempotencyClaim): StoredAnswer | undefined {
    const stored = this.#find.get(claim.scope, claim.key);
    if (!stored) return undefined;
    if (stored.request_hash !== claim.requestHash) {
      return refusalAnswer(
        new DomainError(
          'unprocessable',
          'idempotency_key_reused',
          'this Idempotency-Key was used with a different request; use a new key for a new scan',
        ),
      );
    }
    return { status: stored.status, body: JSON.parse(stored.body) as unknown, replayed: true, json: stored.body };
  }

  /**
   * Keeps `answer` for the key (once: a key already stored keeps its first answer). `json`: the body
   * as the caller already serialized it, to not serialize it twice.
   */
  remember(
    claim: IdempotencyClaim,
    answer: { status: number; body: unknown },
    nowMs: number,
    json = JSON.stringify(answer.body),
  ): void {
    this.#store.run(claim.scope, claim.key, claim.requestHash, answer.status, json, nowMs);
  }

  /** Forgets keys past their retention. */
  prune(nowMs: number): number {
    return this.#prune.run(nowMs - limits.idempotencyRetentionSeconds * 1000).changes;
  }
}
