import type Database from 'better-sqlite3';

/**
 * The condition of `ledger_receipts` (migration 9): receives whose reference names a purchase order
 * or a production request (`supplyReference`). SQLite reads through a partial index only for a
 * query whose WHERE repeats its condition, so services/supply.ts puts this in its query; a test
 * (ledger-receipts.test.ts) checks the plan still uses the index.
 */
export const supplyReceiptCondition =
  "type = 'receive' AND (json_extract(event, '$.reference') GLOB 'po:*' OR json_extract(event, '$.reference') GLOB 'production:*')";

/**
 * Versioned, forward-only migrations. Each runs in one transaction with the bump of
 * `PRAGMA user_version`, so a crash mid-migration leaves the previous version intact.
 */
export const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'stock ledger, outbox, staff, catalog replica',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- Owner state of each (this warehouse, sku) partition: the fold of its ledger.
      CREATE TABLE partition (
        sku         TEXT PRIMARY KEY,
        state       TEXT NOT NULL,            -- PartitionState as JSON
        on_hand     INTEGER NOT NULL CHECK (on_hand >= 0),
        verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
        events      INTEGER NOT NULL,         -- ledger entries folded into state
        updated_ms  INTEGER NOT NULL
      ) STRICT;

      -- Append-only: every applied stock event, in the order it was applied here.
      CREATE TABLE ledger (
        position     INTEGER PRIMARY KEY,     -- local apply order
        id           TEXT NOT NULL UNIQUE,
        sku          TEXT NOT NULL,
        type         TEXT NOT NULL,
        hlc          TEXT NOT NULL,
        at_ms        INTEGER NOT NULL,
        actor        TEXT NOT NULL,
        unverified   INTEGER NOT NULL CHECK (unverified IN (0, 1)),
        upstream_seq INTEGER UNIQUE,          -- set when the event was produced here and goes upstream
        event        TEXT NOT NULL
      ) STRICT;
      CREATE INDEX ledger_by_sku ON ledger (sku, position);

      -- The upstream stream: seq 1, 2, 3, ... with no gaps; rows leave only once the hub acked them.
      CREATE TABLE upstream (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq  INTEGER NOT NULL,
        acked_seq INTEGER NOT NULL CHECK (acked_seq <= last_seq)
      ) STRICT;
      INSERT INTO upstream (id, last_seq, acked_seq) VALUES (1, 0, 0);

      CREATE TABLE outbox (
        seq      INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        event    TEXT NOT NULL
      ) STRICT;

      CREATE TABLE idempotency (
        scope        TEXT NOT NULL,
        key          TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status       INTEGER NOT NULL,
        body         TEXT NOT NULL,
        created_ms   INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      ) STRICT;
      CREATE INDEX idempotency_by_age ON idempotency (created_ms);

      CREATE TABLE staff (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('supervisor', 'warehouse_staff')),
        source        TEXT NOT NULL CHECK (source IN ('bootstrap', 'local', 'hub')),
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_ms    INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE session (
        token_hash TEXT PRIMARY KEY,
        staff_id   TEXT NOT NULL REFERENCES staff (id),
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX session_by_staff ON session (staff_id);

      -- Read replica of the hub's catalog (filled by sync): what makes a scanned SKU verified.
      CREATE TABLE catalog_variant (
        sku        TEXT PRIMARY KEY,
        product_id TEXT NOT NULL,
        name       TEXT NOT NULL,
        gtin       TEXT,
        options    TEXT NOT NULL,
        archived   INTEGER NOT NULL DEFAULT 0
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'sync cursors, rejections and link state',
    sql: `
      -- Last downstream seq applied per channel; written in the same transaction as the changes.
      CREATE TABLE sync_cursor (
        channel TEXT PRIMARY KEY,
        seq     INTEGER NOT NULL CHECK (seq >= 0)
      ) STRICT;

      -- Events the hub durably refused (e.g. unknown_sku): shown to staff, never retried for ever.
      CREATE TABLE sync_rejection (
        seq         INTEGER PRIMARY KEY,
        event_id    TEXT NOT NULL,
        sku         TEXT NOT NULL,
        reason      TEXT NOT NULL,
        message     TEXT NOT NULL,
        rejected_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE sync_link (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        last_contact_ms INTEGER,
        last_error      TEXT
      ) STRICT;
      INSERT INTO sync_link (id) VALUES (1);
    `,
  },
  {
    version: 3,
    name: 'fulfillment orders replicated from the hub',
    sql: `
      -- What this warehouse must pick, pack and ship: appended by the hub to warehouse:<id> on payment.
      CREATE TABLE fulfillment_order (
        id           TEXT PRIMARY KEY,
        order_id     TEXT NOT NULL,
        order_number TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('open', 'cancel_requested')),
        ship_to      TEXT NOT NULL,
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX fulfillment_order_by_status ON fulfillment_order (status, created_ms);

      CREATE TABLE fulfillment_line (
        fulfillment_id TEXT NOT NULL REFERENCES fulfillment_order (id),
        sku            TEXT NOT NULL,
        quantity       INTEGER NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (fulfillment_id, sku)
      ) STRICT;
      CREATE INDEX fulfillment_line_by_sku ON fulfillment_line (sku);
    `,
  },
  {
    version: 4,
    name: 'pick, pack and ship at the edge; fulfillment facts upstream',
    sql: `
      -- The edge now owns each fulfillment order's progress (docs/architecture.md, "Ownership"). SQLite cannot change a CHECK,
      -- so both tables are rebuilt; the line's FK follows the rename of its parent.
      CREATE TABLE fulfillment_order_v4 (
        id               TEXT PRIMARY KEY,
        order_id         TEXT NOT NULL,
        order_number     TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('open', 'picking', 'packed', 'shipped', 'canceled')),
        cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
        ship_to          TEXT NOT NULL,
        picks            INTEGER NOT NULL DEFAULT 0,
        packages         TEXT,
        shipment         TEXT,
        created_ms       INTEGER NOT NULL,
        updated_ms       INTEGER NOT NULL
      ) STRICT;
      INSERT INTO fulfillment_order_v4 (id, order_id, order_number, status, cancel_requested, ship_to, created_ms, updated_ms)
        SELECT id, order_id, order_number, 'open', CASE status WHEN 'cancel_requested' THEN 1 ELSE 0 END, ship_to, created_ms, updated_ms
        FROM fulfillment_order;
      CREATE TABLE fulfillment_line_v4 (
        fulfillment_id TEXT NOT NULL REFERENCES fulfillment_order_v4 (id),
        sku            TEXT NOT NULL,
        -- What this warehouse still owes: a release request (shortage re-routing) may lower it.
        quantity       INTEGER NOT NULL CHECK (quantity >= 0),
        picked         INTEGER NOT NULL DEFAULT 0 CHECK (picked >= 0 AND picked <= quantity),
        PRIMARY KEY (fulfillment_id, sku)
      ) STRICT;
      INSERT INTO fulfillment_line_v4 (fulfillment_id, sku, quantity) SELECT fulfillment_id, sku, quantity FROM fulfillment_line;
      DROP TABLE fulfillment_line;
      DROP TABLE fulfillment_order;
      ALTER TABLE fulfillment_order_v4 RENAME TO fulfillment_order;
      ALTER TABLE fulfillment_line_v4 RENAME TO fulfillment_line;
      CREATE INDEX fulfillment_order_by_status ON fulfillment_order (status, created_ms);
      CREATE INDEX fulfillment_line_by_sku ON fulfillment_line (sku);

      -- Each pick scan, so the ship names the lots and serials that were picked.
      CREATE TABLE fulfillment_pick (
        fulfillment_id TEXT NOT NULL REFERENCES fulfillment_order (id),
        position       INTEGER NOT NULL,
        sku            TEXT NOT NULL,
        quantity       INTEGER NOT NULL CHECK (quantity > 0),
        lot            TEXT,
        serials        TEXT,
        PRIMARY KEY (fulfillment_id, position)
      ) STRICT;

      -- The ledger of fulfillment facts sent upstream (stock events have theirs in ledger): together
      -- the two hold every upstream seq exactly once.
      CREATE TABLE fulfillment_event (
        position       INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        fulfillment_id TEXT NOT NULL,
        type           TEXT NOT NULL,
        at_ms          INTEGER NOT NULL,
        actor          TEXT NOT NULL,
        upstream_seq   INTEGER NOT NULL UNIQUE,
        event          TEXT NOT NULL
      ) STRICT;
      CREATE INDEX fulfillment_event_by_fulfillment ON fulfillment_event (fulfillment_id, position);
    `,
  },
  {
    version: 5,
    name: 'returns received at the edge',
    sql: `
      -- Returns the hub authorized for this warehouse (its \`return.authorized\` changes). The edge
      -- accounts for each unit (restocked, damaged, missing); its \`return_received\` facts go upstream
      -- in fulfillment_event (fulfillment_id holds the return id), in the one gap-free stream.
      CREATE TABLE return_order (
        id           TEXT PRIMARY KEY,
        number       TEXT NOT NULL,
        order_id     TEXT NOT NULL,
        order_number TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('expected', 'received', 'canceled')),
        note         TEXT,
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX return_order_by_status ON return_order (status, created_ms, id);
      CREATE TABLE return_line (
        return_id TEXT NOT NULL REFERENCES return_order (id),
        sku       TEXT NOT NULL,
        quantity  INTEGER NOT NULL CHECK (quantity > 0),
        restocked INTEGER NOT NULL DEFAULT 0 CHECK (restocked >= 0),
        damaged   INTEGER NOT NULL DEFAULT 0 CHECK (damaged >= 0),
        missing   INTEGER NOT NULL DEFAULT 0 CHECK (missing >= 0),
        CHECK (restocked + damaged + missing <= quantity),
        PRIMARY KEY (return_id, sku)
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'staff disabled at the edge, apart from the hub roster',
    sql: `
      -- A hub account's 'disabled' is the hub's word (each roster update rewrites it); what the edge
      -- decided locally lives here, so a roster update never lifts a local disable and the edge never
      -- lifts the hub's.
      ALTER TABLE staff ADD COLUMN disabled_locally INTEGER NOT NULL DEFAULT 0 CHECK (disabled_locally IN (0, 1));
    `,
  },
  {
    version: 7,
    name: 'configured fulfillment lines',
    sql: `
      -- What the buyer configured (fabric, width…) on a line of a configurable product, as JSON from
      -- the hub's fulfillment.requested (protocol 6): the pick list shows it.
      ALTER TABLE fulfillment_line ADD COLUMN configuration TEXT;
    `,
  },
  {
    version: 8,
    name: 'purchase orders and production requests to receive against',
    sql: `
      -- Supply the hub announced for this warehouse (protocol 7): purchase orders (kind
      -- 'purchase_order') and production requests of made-to-order lines ('production'). What was
      -- received against each line is read from the ledger: receive events whose reference names it.
      CREATE TABLE supply_request (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL CHECK (kind IN ('purchase_order', 'production')),
        status       TEXT NOT NULL CHECK (status IN ('open', 'canceled')),
        supplier     TEXT,
        order_id     TEXT,
        order_number TEXT,
        due_ms       INTEGER NOT NULL,
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX supply_request_by_kind ON supply_request (kind, status, due_ms, id);
      CREATE TABLE supply_line (
        request_id    TEXT NOT NULL REFERENCES supply_request (id),
        sku           TEXT NOT NULL,
        quantity      INTEGER NOT NULL CHECK (quantity > 0),
        configuration TEXT,
        PRIMARY KEY (request_id, sku)
      ) STRICT;
      CREATE INDEX ledger_receipts ON ledger (json_extract(event, '$.reference'), sku) WHERE type = 'receive';
    `,
  },
  {
    version: 9,
    name: 'ledger_receipts indexes receives against supply only',
    sql: `
      -- Only receives against a purchase order or a production request are looked up by reference.
      -- Indexing every receive's reference scattered each scan batch over the index: about a tenth of
      -- a receive's CPU (docs/architecture.md, "The edge's write path, measured").
      DROP INDEX ledger_receipts;
      CREATE INDEX ledger_receipts ON ledger (json_extract(event, '$.reference'), sku)
        WHERE type = 'receive' AND (json_extract(event, '$.reference') GLOB 'po:*'
          OR json_extract(event, '$.reference') GLOB 'production:*');
    `,
  },
];

export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new Error(`database schema version ${from} is newer than this edge (${latest}); upgrade the edge`);
  }
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return { from, to: latest };
}
