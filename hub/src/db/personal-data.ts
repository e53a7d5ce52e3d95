import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { lookupEmail } from '@dovetail/shared';
import type { Kysely } from 'kysely';

/**
 * Personal data at rest (docs/operations.md, "Personal data"): a customer's name, e-mail, phone and
 * addresses are stored sealed with AES-256-GCM under a data key of that customer; the data key is
 * stored wrapped (AES-256-GCM) by the hub's key-encryption key, the one that seals the signing keys
 * (`HUB_KEY_ENCRYPTION_KEY`, `hub.kek`). Orders are found by e-mail through a keyed hash (HMAC-SHA256
 * of the normalised address, its key derived from the key-encryption key), never the address itself.
 * Erasing a customer deletes their data keys: what was sealed under them reads as erased (crypto-shredding).
 * A hub built without a key-encryption key (tests in memory) stores data keys unwrapped.
 */
export interface CustomerKeysTable {
  id: string;
  /** The keyed hash of the customer's normalised e-mail (`emailKey`). */
  email_key: string;
  /** The data key, wrapped by the key-encryption key (`kek:v1:`) or, without one, plain (`raw:`). */
  data_key: string;
  created_at: number;
}

export interface PersonalDataTables {
  customer_keys: CustomerKeysTable;
}

/** What a sealed value starts with; anything else is a plain value written before sealing existed. */
export const sealedPrefix = 'pii:v1:';

/** What a sealed stored response starts with (`sealRecord`). */
const recordPrefix = 'rec:v1:';

/** What an erased personal field reads as. */
export const erased = 'erased';
/** An erased address, every field `erased`. */
export const erasedAddress = { line1: erased, city: erased, postalCode: erased, country: erased };

const cacheSize = 2_000;
const cacheTtlMs = 60_000;

// biome-ignore lint/suspicious/noExplicitAny: any hub database (and its transactions) carries customer_keys
type AnyDb = Kysely<any>;

export class PersonalDataVault {
  readonly #kek: Buffer | undefined;
  readonly #lookupKey: Buffer;
  readonly #recordKey: Buffer;
  /** Unwrapped data keys by id (null: erased), for at most a minute so an erasure on another instance takes hold. */
  readonly #keys = new Map<string, { key: Buffer | null; until: number }>();

  constructor(kek: Buffer | undefined) {
    this.#kek = kek;
    this.#lookupKey = Buffer.from(
      hkdfSync('sha256', kek ?? Buffer.alloc(32), Buffer.alloc(0), 'dovetail customer e-mail lookup', 32),
    );
    this.#recordKey = Buffer.from(
      hkdfSync('sha256', kek ?? Buffer.alloc(32), Buffer.alloc(0), 'dovetail stored responses', 32),
    );
  }

  /**
   * Seals a stored response (an idempotent replay may carry a customer) under a key derived from the
   * key-encryption key: not shredded by an erasure, so such rows must expire (they do, within a day).
   */
  sealRecord(text: string): string {
    return sealWith('record', this.#recordKey, text).replace(sealedPrefix, recordPrefix);
  }

  /** Opens `sealRecord`'s text; a plain one (stored before sealing) as is. */
  openRecord(stored: string): string {
    if (!stored.startsWith(recordPrefix)) return stored;
    const [id, ivText, sealedText] = stored.slice(recordPrefix.length).split(':');
    const sealed = Buffer.from(sealedText ?? '', 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#recordKey, Buffer.from(ivText ?? '', 'base64url'));
    decipher.setAAD(Buffer.from(id ?? '', 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
  }

  /** The keyed hash orders are found by: HMAC-SHA256 of the e-mail as looked up (`lookupEmail`: trimmed, lower case). */
  emailKey(email: string): string {
    return createHmac('sha256', this.#lookupKey).update(lookupEmail(email), 'utf8').digest('base64url');
  }

  /** Seals `value` (JSON) under the current data key of the customer with this e-mail, creating it on first use. */
  async seal(db: AnyDb, email: string, value: unknown): Promise<string> {
    return (await this.sealer(db, email))(value);
  }

  /** A sealer for several values of one customer: the data key is read (or created) once. */
  async sealer(db: AnyDb, email: string): Promise<(value: unknown) => string> {
    const emailKey = this.emailKey(email);
    const row = await db
      .selectFrom('customer_keys')
      .select(['id', 'data_key'])
      .where('email_key', '=', emailKey)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let id: string;
    let key: Buffer;
    if (row) {
      id = row.id as string;
      key = this.#unwrap(id, row.data_key as string);
    } else {
      id = randomUUID();
      key = randomBytes(32);
      await db
        .insertInto('customer_keys')
        .values({ id, email_key: emailKey, data_key: this.#wrap(id, key), created_at: Date.now() })
        .execute();
    }
    return (value) => sealWith(id, key, JSON.stringify(value));
  }

  /** The value sealed in `stored` (a plain JSON text is parsed as is); `undefined` once erased. */
  async open<T>(db: AnyDb, stored: string): Promise<T | undefined> {
    if (!stored.startsWith(sealedPrefix)) return JSON.parse(stored) as T;
    const [id, ivText, sealedText] = stored.slice(sealedPrefix.length).split(':');
    if (!id || !ivText || !sealedText) throw new Error('a sealed personal value is malformed');
    const key = await this.#keyOf(db, id);
    if (!key) return undefined;
    const sealed = Buffer.from(sealedText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const text = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    return JSON.parse(text.toString('utf8')) as T;
  }

  /** A sealed string (a plain one, stored before sealing, as is); `undefined` once erased. */
  async openText(db: AnyDb, stored: string): Promise<string | undefined> {
    if (!stored.startsWith(sealedPrefix)) return stored;
    return this.open<string>(db, stored);
  }

  /** Every sealed string inside `value` (a stored webhook or sync payload) replaced by what it seals, or by `erased`. */
  async openDeep(db: AnyDb, value: unknown): Promise<unknown> {
    if (typeof value === 'string') {
      if (!value.startsWith(sealedPrefix)) return value;
      return (await this.open(db, value)) ?? erased;
    }
    if (Array.isArray(value)) return Promise.all(value.map((item) => this.openDeep(db, item)));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [name, item] of Object.entries(value)) out[name] = await this.openDeep(db, item);
      return out;
    }
    return value;
  }

  /** Crypto-shredding: destroys every data key of the customer with this e-mail; how many there were. */
  async erase(db: AnyDb, email: string): Promise<number> {
    const emailKey = this.emailKey(email);
    const rows = await db.selectFrom('customer_keys').select('id').where('email_key', '=', emailKey).execute();
    await db.deleteFrom('customer_keys').where('email_key', '=', emailKey).execute();
    for (const row of rows) this.#keys.set(row.id as string, { key: null, until: Date.now() + cacheTtlMs });
    return rows.length;
  }

  /** Destroys one data key by id (retention erases an order's personal data; its other orders keep theirs only if sealed under other keys). */
  async eraseKeyOf(db: AnyDb, stored: string): Promise<void> {
    if (!stored.startsWith(sealedPrefix)) return;
    const id = stored.slice(sealedPrefix.length).split(':')[0] ?? '';
    await db.deleteFrom('customer_keys').where('id', '=', id).execute();
    this.#keys.set(id, { key: null, until: Date.now() + cacheTtlMs });
  }

  async #keyOf(db: AnyDb, id: string): Promise<Buffer | null> {
    const now = Date.now();
    const cached = this.#keys.get(id);
    if (cached && cached.until > now) return cached.key;
    const row = await db.selectFrom('customer_keys').select('data_key').where('id', '=', id).executeTakeFirst();
    const key = row ? this.#unwrap(id, row.data_key as string) : null;
    if (this.#keys.size >= cacheSize) this.#keys.clear();
    this.#keys.set(id, { key, until: now + cacheTtlMs });
    return key;
  }

  #wrap(id: string, key: Buffer): string {
    if (!this.#kek) return `raw:${key.toString('base64url')}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#kek, iv);
    cipher.setAAD(Buffer.from(`customer-key:${id}`, 'utf8'));
    const sealed = Buffer.concat([cipher.update(key), cipher.final(), cipher.getAuthTag()]);
    return `kek:v1:${iv.toString('base64url')}:${sealed.toString('base64url')}`;
  }

  #unwrap(id: string, stored: string): Buffer {
    if (stored.startsWith('raw:')) return Buffer.from(stored.slice(4), 'base64url');
    if (!this.#kek) {
      throw new Error('customer data keys are sealed: set HUB_KEY_ENCRYPTION_KEY or HUB_KEY_ENCRYPTION_KEY_FILE');
    }
    const [ivText, sealedText] = stored.slice('kek:v1:'.length).split(':');
    const sealed = Buffer.from(sealedText ?? '', 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#kek, Buffer.from(ivText ?? '', 'base64url'));
    decipher.setAAD(Buffer.from(`customer-key:${id}`, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    } catch {
      throw new Error(
        'a customer data key does not decrypt with this key-encryption key (hubs sharing a database need the same one)',
      );
    }
  }
}

function sealWith(id: string, key: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(id, 'utf8'));
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${sealedPrefix}${id}:${iv.toString('base64url')}:${sealed.toString('base64url')}`;
}

/** The vault of each database (found through its dialect adapter, which its transactions share). */
const vaults = new WeakMap<object, PersonalDataVault>();
const unkeyed = new PersonalDataVault(undefined);

/** Makes `vault` the one `vaultOf(db)` and `vaultOf(trx)` answer for this database (createHub does). */
export function registerVault(db: AnyDb, vault: PersonalDataVault): void {
  vaults.set(db.getExecutor().adapter, vault);
}

/** The personal-data vault of `db` (or a transaction of it); a database no hub registered gets one without a key-encryption key. */
export function vaultOf(db: AnyDb): PersonalDataVault {
  return vaults.get(db.getExecutor().adapter) ?? unkeyed;
}
