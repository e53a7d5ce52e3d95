/** The audit trail (0025): append-only, hash-chained (chain.ts). */
export interface AuditLogTable {
  seq: number;
  at: number;
  /** Who acted: a client id, a staff id, an outside subject, or the name an unauthenticated caller claimed. */
  actor: string;
  actor_kind: string;
  /** The caller's address (http/client-address.ts). */
  source: string;
  request_id: string | null;
  action: string;
  target: string | null;
  /** SHA-256 (hex) of the canonical JSON of what changed, secrets left out. */
  digest: string;
  prev_hash: string;
  hash: string;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}
