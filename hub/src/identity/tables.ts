import type { ColumnType } from 'kysely';

export interface ApiClientsTable {
  id: string;
  name: string;
  role: string;
  warehouses_json: string;
  /** SHA-256 of a 256-bit random secret: high entropy, so a fast hash is safe (no dictionary to try). */
  secret_hash: string;
  /** For a `carrier` client: the carrier it reports tracking for (0016); null otherwise. */
  carrier: ColumnType<string | null, string | null | undefined, string | null>;
  /** This client's request budget (0018); null: the hub's default. */
  requests_per_second: ColumnType<number | null, number | null | undefined, number | null>;
  requests_burst: ColumnType<number | null, number | null | undefined, number | null>;
  /** Units this client may hold of one SKU at once (0027); null: the hub's default (storefront clients only). */
  hold_units_per_sku_max: ColumnType<number | null, number | null | undefined, number | null>;
  epoch: number;
  revoked_at: number | null;
  created_at: number;
}

export interface StaffTable {
  id: string;
  username: string;
  role: string;
  warehouses_json: string;
  /** `scrypt$N$r$p$salt$hash`: people choose passwords, so a slow salted hash. */
  password_hash: string;
  /** The confirmed TOTP secret, sealed (0028); null: no MFA. */
  mfa_secret: ColumnType<string | null, string | null | undefined, string | null>;
  /** A TOTP secret waiting for its first code (0028). */
  mfa_pending: ColumnType<string | null, string | null | undefined, string | null>;
  /** The time step of the last code accepted: a code works once (0028). */
  mfa_last_step: ColumnType<number | null, number | null | undefined, number | null>;
  disabled_at: number | null;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  /** Set once a newer key signs; the key stays published until pruned so issued tokens verify. */
  retired_at: number | null;
}

export interface IdentityTables {
  api_clients: ApiClientsTable;
  staff: StaffTable;
  signing_keys: SigningKeysTable;
}
