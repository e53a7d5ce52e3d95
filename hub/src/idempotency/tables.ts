/** Responses kept per (client, Idempotency-Key) so a retried create replays instead of repeating. */
export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  fingerprint: string;
  state: 'in_flight' | 'done';
  status: number | null;
  body: string | null;
  headers_json: string | null;
  created_at: number;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}
