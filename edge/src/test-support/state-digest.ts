import { type DigestExclusions, stateDigest } from '@dovetail/shared/state-digest';
import type { EdgeDatabase } from '../db/open.ts';

/**
 * Columns a refused request or sync frame may change at the edge, and why. Nothing else may
 * change: a request answered 4xx (or a hub frame the edge refuses) leaves every other row as it was.
 */
export const refusalMayChange: DigestExclusions = {
  // Link liveness, not data: every frame the hub sends, refused or not, counts as contact (what
  // GET /sync/status shows as lastContactAt).
  sync_link: { why: 'when the hub was last heard from', columns: ['last_contact_ms'] },
};

/** A digest of every table of the edge's SQLite database. */
export function edgeStateDigest(db: EdgeDatabase, exclude: DigestExclusions = refusalMayChange) {
  return stateDigest(
    {
      tables: () =>
        db
          .prepare<[], { name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
          )
          .all()
          .map((row) => row.name),
      rows: (table) =>
        db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).all() as Array<Record<string, unknown>>,
    },
    exclude,
  );
}
