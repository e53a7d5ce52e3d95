import { badRequest, limits } from '@dovetail/shared';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { type ChainedRow, changeDigest, genesisHash, rowHash } from './chain.ts';

/** Who did it and from where: what http/ knows about a request, passed down to the trail. */
export type AuditActor = {
  /** A client id, staff id or outside subject; for a refused sign-in, the name the caller claimed. */
  actor: string;
  actorKind: 'client' | 'staff' | 'external' | 'unauthenticated';
  source: string;
  requestId?: string | undefined;
};

export type AuditEntry = AuditActor & {
  action: string;
  target?: string | undefined;
  /** What changed (a request's input, say): only its digest is kept, secrets redacted first. */
  change: unknown;
};

export type AuditView = {
  seq: number;
  at: string;
  actor: string;
  actorKind: string;
  source: string;
  requestId: string | null;
  action: string;
  target: string | null;
  digest: string;
  prevHash: string;
  hash: string;
};

/** The audit chain's lock on PostgreSQL: one writer at a time per schema, across hub instances. */
const auditLockClass = 7_190_424;

const fieldMax = 200;
const clip = (text: string) => (text.length > fieldMax ? text.slice(0, fieldMax) : text);

/**
 * Appends one entry to the hash chain (docs/operations.md, "Audit trail"): inside the caller's
 * transaction when given one, so the entry commits with the change, else in its own. Appends are
 * serialised (an advisory transaction lock on PostgreSQL, SQLite's single writer) and `seq` is the
 * primary key, so the chain cannot fork between instances.
 */
export async function recordAudit(
  db: Kysely<Database> | Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  entry: AuditEntry,
  nowMs: number,
): Promise<void> {
  if (!db.isTransaction) {
    await db.transaction().execute((trx) => recordAudit(trx, dialect, entry, nowMs));
    return;
  }
  if (dialect === 'postgres')
    await sql`select pg_advisory_xact_lock(${auditLockClass}, hashtext(current_schema()))`.execute(db);
  const head = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const row: ChainedRow = {
    seq: head ? Number(head.seq) + 1 : 1,
    at: nowMs,
    actor: clip(entry.actor),
    actor_kind: entry.actorKind,
    source: clip(entry.source),
    request_id: entry.requestId ? clip(entry.requestId) : null,
    action: entry.action,
    target: entry.target ? clip(entry.target) : null,
    digest: changeDigest(entry.change),
  };
  const prevHash = head?.hash ?? genesisHash;
  await db
    .insertInto('audit_log')
    .values({ ...row, prev_hash: prevHash, hash: rowHash(prevHash, row) })
    .execute();
}

export type AuditFilter = {
  actor?: string | undefined;
  action?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  cursor?: string | undefined;
  limit: number;
};

/** Newest first, cursor-paged by seq; filters by actor, action and a time range [from, to). */
export async function listAudit(
  db: Kysely<Database>,
  filter: AuditFilter,
): Promise<{ items: AuditView[]; nextCursor: string | null }> {
  let before: number | undefined;
  if (filter.cursor !== undefined) {
    const key = decodeCursor(filter.cursor);
    before = key !== undefined && /^[1-9][0-9]{0,15}$/.test(key) ? Number(key) : undefined;
    if (before === undefined) throw badRequest('invalid_cursor', 'cursor was not issued by this list');
  }
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(filter.limit + 1);
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.fromMs !== undefined) query = query.where('at', '>=', filter.fromMs);
  if (filter.toMs !== undefined) query = query.where('at', '<', filter.toMs);
  if (before !== undefined) query = query.where('seq', '<', before);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      seq: Number(row.seq),
      at: new Date(Number(row.at)).toISOString(),
      actor: row.actor,
      actorKind: row.actor_kind,
      source: row.source,
      requestId: row.request_id,
      action: row.action,
      target: row.target,
      digest: row.digest,
      prevHash: row.prev_hash,
      hash: row.hash,
    })),
    nextCursor: rows.length > filter.limit && last ? encodeCursor(String(last.seq)) : null,
  };
}

export type ChainReport =
  | { ok: true; rows: number; headSeq: number; headHash: string }
  | { ok: false; rows: number; brokenSeq: number; reason: string };

/**
 * Recomputes the whole chain in seq order: each row must follow the previous seq by one, carry the
 * previous row's hash and hash to what it stores. The first row that does not is the broken link.
 * A removed row shows as the seq that is missing; a removed tail needs the head kept elsewhere.
 */
export async function verifyAuditChain(db: Kysely<Database>): Promise<ChainReport> {
  let expectedSeq = 1;
  let prevHash = genesisHash;
  let rows = 0;
  const pageSize = limits.pageSizeMax * 10;
  for (;;) {
    const page = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
    for (const stored of page) {
      const seq = Number(stored.seq);
      if (seq !== expectedSeq)
        return { ok: false, rows, brokenSeq: expectedSeq, reason: `row ${expectedSeq} is missing (next is ${seq})` };
      if (stored.prev_hash !== prevHash)
        return { ok: false, rows, brokenSeq: seq, reason: 'its prev_hash is not the previous row’s hash' };
      const hash = rowHash(prevHash, { ...stored, seq, at: Number(stored.at) });
      if (hash !== stored.hash)
        return { ok: false, rows, brokenSeq: seq, reason: 'its contents do not match its hash (altered)' };
      rows++;
      prevHash = stored.hash;
      expectedSeq = seq + 1;
    }
    if (page.length < pageSize) break;
  }
  return { ok: true, rows, headSeq: expectedSeq - 1, headHash: prevHash };
}
