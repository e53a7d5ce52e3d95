import { createHash, randomBytes } from 'node:crypto';
import {
  conflict,
  type EdgeStaffRole,
  type IdSource,
  limits,
  type Principal,
  SignInGuard,
  WorkGate,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import { decoyHash, defaultScryptCost, hashPassword, type ScryptCost, verifyPassword } from './passwords.ts';

export type StaffRecord = {
  id: string;
  username: string;
  role: EdgeStaffRole;
  source: 'bootstrap' | 'local' | 'hub';
  disabled: boolean;
  createdAt: string;
};
type StaffRow = {
  id: string;
  username: string;
  password_hash: string;
  role: EdgeStaffRole;
  source: StaffRecord['source'];
  disabled: number;
  disabled_locally: number;
  created_ms: number;
};

const isDisabled = (row: StaffRow) => row.disabled === 1 || row.disabled_locally === 1;

export type SignInResult =
  | { ok: true; token: string; expiresAt: string; staff: StaffRecord }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'too_many_attempts'; retryAfterSeconds: number }
  | { ok: false; reason: 'busy'; retryAfterSeconds: number };

export type Session = { principal: Principal; staffId: string; username: string; expiresMs: number };

const tokenPrefix = 'dvt_edge_';
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function toRecord(row: StaffRow): StaffRecord {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    source: row.source,
    disabled: isDisabled(row),
    createdAt: new Date(row.created_ms).toISOString(),
  };
}

/**
 * People at the edge: accounts with scrypt-hashed passwords, opaque session tokens (random,
 * stored as SHA-256, revocable at once), and a lockout after repeated failed sign-ins.
 */
export class StaffDirectory {
  readonly #db: EdgeDatabase;
  readonly #warehouseId: string;
  readonly #newId: IdSource;
  readonly #nowMs: () => number;
  readonly #sessionCache = new Map<string, Session>();
  readonly #guard: SignInGuard;
  /** scrypt at OWASP's cost holds 128 MiB while it runs: a few at a time, the rest refused at once. */
  readonly #hashing = new WorkGate(
    limits.passwordHashesConcurrentMax,
    limits.passwordHashesQueuedMax,
    limits.passwordHashesPerSourceMax,
  );
  readonly #sql;
  readonly #cost: ScryptCost;
  #decoy: Promise<string> | undefined;

  /** `passwordCost` is lowered only by tests; production always uses OWASP's scrypt minimum. */
  constructor(
    db: EdgeDatabase,
    options: { warehouseId: string; newId: IdSource; nowMs: () => number; passwordCost?: ScryptCost },
  ) {
    this.#cost = options.passwordCost ?? defaultScryptCost;
    this.#db = db;
    this.#warehouseId = options.warehouseId;
    this.#newId = options.newId;
    this.#nowMs = options.nowMs;
    this.#guard = new SignInGuard(options.nowMs);
    this.#sql = {
      byUsername: db.prepare<[string], StaffRow>('SELECT * FROM staff WHERE username = ?'),
      all: db.prepare<[], StaffRow>('SELECT * FROM staff ORDER BY username'),
      supervisors: db.prepare<[], { n: number }>(
        "SELECT count(*) AS n FROM staff WHERE role = 'supervisor' AND disabled = 0 AND disabled_locally = 0",
      ),
      insert: db.prepare(
        'INSERT INTO staff (id, username, password_hash, role, source, disabled, created_ms) VALUES (?, ?, ?, ?, ?, 0, ?)',
      ),
      setDisabled: db.prepare('UPDATE staff SET disabled = ? WHERE id = ?'),
      setDisabledLocally: db.prepare('UPDATE staff SET disabled_locally = ? WHERE id = ?'),
      insertSession: db.prepare(
        'INSERT INTO session (token_hash, staff_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)',
      ),
      session: db.prepare<[string, number], StaffRow & { expires_ms: number }>(
        `SELECT staff.*, session.expires_ms FROM session JOIN staff ON staff.id = session.staff_id
         WHERE session.token_hash = ? AND session.expires_ms > ? AND staff.disabled = 0 AND staff.disabled_locally = 0`,
      ),
      deleteSession: db.prepare('DELETE FROM session WHERE token_hash = ?'),
      deleteStaffSessions: db.prepare('DELETE FROM session WHERE staff_id = ?'),
      oldestSessions: db.prepare(
        `DELETE FROM session WHERE staff_id = ? AND token_hash NOT IN
           (SELECT token_hash FROM session WHERE staff_id = ? ORDER BY created_ms DESC LIMIT ?)`,
      ),
      expired: db.prepare('DELETE FROM session WHERE expires_ms <= ?'),
    };
  }

  list(): StaffRecord[] {
    return this.#sql.all.all().map(toRecord);
  }

  find(username: string): StaffRecord | undefined {
    const row = this.#sql.byUsername.get(username);
    return row ? toRecord(row) : undefined;
  }

  async create(input: {
    username: string;
    password: string;
    role: EdgeStaffRole;
    source: 'bootstrap' | 'local';
  }): Promise<StaffRecord | undefined> {
    const hash = await hashPassword(input.password, this.#cost);
    if (this.#sql.byUsername.get(input.username)) return undefined;
    const id = this.#newId();
    this.#sql.insert.run(id, input.username, hash, input.role, input.source, this.#nowMs());
    return this.find(input.username);
  }

  /** `EDGE_BOOTSTRAP_STAFF`: a supervisor so a new warehouse can work before its hub roster arrives. */
  async bootstrap(spec: string | undefined): Promise<'created' | 'exists' | 'skipped'> {
    if (!spec) return 'skipped';
    const separator = spec.indexOf(':');
    if (separator <= 0) throw new Error('EDGE_BOOTSTRAP_STAFF must be "username:password"');
    const username = spec.slice(0, separator);
    const password = spec.slice(separator + 1);
    if (password.length < limits.passwordLengthMin) {
      throw new Error(`EDGE_BOOTSTRAP_STAFF password must have at least ${limits.passwordLengthMin} characters`);
    }
    if ((this.#sql.supervisors.get()?.n ?? 0) > 0) return 'exists';
    const created = await this.create({ username, password, role: 'supervisor', source: 'bootstrap' });
    return created ? 'created' : 'exists';
  }

  /**
   * Disables or enables an account. A hub account may be disabled here (locally, kept apart from the
   * roster), but what the hub disabled only the hub enables again (409 `disabled_by_hub`).
   */
  setDisabled(username: string, disabled: boolean): StaffRecord | undefined {
    const row = this.#sql.byUsername.get(username);
    if (!row) return undefined;
    if (row.source === 'hub' && !disabled && row.disabled === 1)
      throw conflict('disabled_by_hub', `${row.username} was disabled by the hub; only the hub can enable the account`);
    this.#db.transaction(() => {
      if (row.source === 'hub') this.#sql.setDisabledLocally.run(disabled ? 1 : 0, row.id);
      else this.#sql.setDisabled.run(disabled ? 1 : 0, row.id);
      if (disabled) this.#sql.deleteStaffSessions.run(row.id);
    })();
    if (disabled)
      for (const [key, session] of this.#sessionCache) if (session.staffId === row.id) this.#sessionCache.delete(key);
    return this.find(username);
  }

  /**
   * Signs a person in from `source` (the peer address). Failures slow that address down on that name
   * and spend its budget (`SignInGuard`); password hashing is bounded (`WorkGate`): past it the
   * answer is `busy` at once, before any memory is taken.
   */
  async signIn(username: string, password: string, source = 'unknown'): Promise<SignInResult> {
    const allowed = this.#guard.begin(source, username);
    if (!allowed.ok) return { ok: false, reason: 'too_many_attempts', retryAfterSeconds: allowed.retryAfterSeconds };
    const row = this.#sql.byUsername.get(username);
    this.#decoy ??= decoyHash(this.#cost);
    const decoy = this.#decoy;
    const verifying = this.#hashing.tryRun(source, async () =>
      verifyPassword(password, row?.password_hash ?? (await decoy)),
    );
    if (!verifying) {
      this.#guard.release(source, username);
      return { ok: false, reason: 'busy', retryAfterSeconds: 1 };
    }
    const valid = await verifying;
    if (!row || !valid || isDisabled(row)) {
      this.#guard.recordFailure(source, username, row !== undefined);
      return { ok: false, reason: 'invalid_credentials' };
    }
    this.#guard.recordSuccess(source, username);
    const nowMs = this.#nowMs();
    const token = tokenPrefix + randomBytes(32).toString('base64url');
    const expiresMs = nowMs + limits.sessionTtlSecondsDefault * 1000;
    this.#db.transaction(() => {
      this.#sql.expired.run(nowMs);
      this.#sql.insertSession.run(hashToken(token), row.id, nowMs, expiresMs);
      this.#sql.oldestSessions.run(row.id, row.id, limits.sessionsPerStaffMax);
    })();
    return { ok: true, token, expiresAt: new Date(expiresMs).toISOString(), staff: toRecord(row) };
  }

  /** The session behind a bearer token, or undefined if unknown, expired or revoked. */
  authenticate(token: string): Session | undefined {
    if (!token.startsWith(tokenPrefix)) return undefined;
    const key = hashToken(token);
    const nowMs = this.#nowMs();
    const cached = this.#sessionCache.get(key);
    if (cached && cached.expiresMs > nowMs) return cached;
    const row = this.#sql.session.get(key, nowMs);
    if (!row) return undefined;
    const session: Session = {
      principal: { subject: row.id, role: row.role, warehouses: [this.#warehouseId] },
      staffId: row.id,
      username: row.username,
      expiresMs: row.expires_ms,
    };
    if (this.#sessionCache.size >= limits.sessionsPerStaffMax * 100) this.#sessionCache.clear();
    this.#sessionCache.set(key, session);
    return session;
  }

  /** The roster changed underneath (sync applied hub changes): re-read sessions from the database. */
  forgetCachedSessions(): void {
    this.#sessionCache.clear();
  }

  signOut(token: string): void {
    const key = hashToken(token);
    this.#sql.deleteSession.run(key);
    this.#sessionCache.delete(key);
  }
}
