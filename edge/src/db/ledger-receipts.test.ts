import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { receivedAgainstSupplySql } from '../services/supply.ts';
import { openEdgeDatabase } from './open.ts';

let root: string;
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('ledger_receipts, the partial index of receives against supply', () => {
  it('serves the received-against-supply query, and holds supply receives only', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-edge-receipts-'));
    const db = openEdgeDatabase(path.join(root, 'edge-W1'));
    try {
      const plan = db
        .prepare<[string, string], { detail: string }>(`EXPLAIN QUERY PLAN ${receivedAgainstSupplySql}`)
        .all('po:PO-1', 'CHAIR-ASH')
        .map((row) => row.detail);
      expect(plan.join('\n')).toMatch(/USING INDEX ledger_receipts/);

      const insert = db.prepare(
        `INSERT INTO ledger (id, sku, type, hlc, at_ms, actor, unverified, upstream_seq, event)
         VALUES (?, 'CHAIR-ASH', ?, 'h', 1, 'lead', 0, NULL, ?)`,
      );
      const event = (reference: string | undefined, quantity: number) =>
        JSON.stringify({ sku: 'CHAIR-ASH', quantity, ...(reference === undefined ? {} : { reference }) });
      insert.run('e1', 'receive', event('po:PO-1', 2));
      insert.run('e2', 'receive', event('po:PO-1', 3));
      insert.run('e3', 'receive', event('production:PR-9', 1));
      insert.run('e4', 'receive', event('delivery note 4711', 5));
      insert.run('e5', 'receive', event(undefined, 7));
      insert.run('e6', 'damage', event('po:PO-1', 1));
      const indexed = db
        .prepare<[], { n: number }>(
          "SELECT count(*) AS n FROM ledger INDEXED BY ledger_receipts WHERE type = 'receive' AND (json_extract(event, '$.reference') GLOB 'po:*' OR json_extract(event, '$.reference') GLOB 'production:*')",
        )
        .get()?.n;
      expect(indexed).toBe(3);
      // Receives in general are not in it (a scan's own reference never costs an index entry).
      expect(() =>
        db.prepare("SELECT count(*) FROM ledger INDEXED BY ledger_receipts WHERE type = 'receive'").get(),
      ).toThrow(/no query solution/);
      const received = (reference: string) =>
        db.prepare<[string, string], { received: number | null }>(receivedAgainstSupplySql).get(reference, 'CHAIR-ASH')
          ?.received;
      expect(received('po:PO-1')).toBe(5);
      expect(received('production:PR-9')).toBe(1);
      expect(received('po:PO-2') ?? 0).toBe(0);
    } finally {
      db.close();
    }
  });
});
