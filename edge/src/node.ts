import path from 'node:path';
import { startCheckpointer } from '@dovetail/platform/sqlite-checkpointer';
import { type IdSource, newId } from '@dovetail/shared';
import { type EdgeDatabase, edgeDatabaseFile, openEdgeDatabase } from './db/open.ts';
import { createEdgeApp, type EdgeApp } from './http/app.ts';
import { sessionBudgetFromEnv } from './http/auth.ts';
import { createLogger, type Logger } from './logger.ts';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.ts';
import { FulfillmentDesk } from './services/fulfillments.ts';
import { ensureNodeIdentity } from './services/node-identity.ts';
import type { ScryptCost } from './services/passwords.ts';
import { ReturnDesk } from './services/returns.ts';
import { StaffDirectory } from './services/staff.ts';
import { StockBook } from './services/stock.ts';
import { StockQueries } from './services/stock-queries.ts';
import { StockWriter } from './services/stock-writer.ts';
import { createChangeApplier } from './sync/apply-changes.ts';
import { EdgeSyncClient } from './sync/client.ts';

export type EdgeNodeOptions = {
  dataDir: string;
  warehouseId: string;
  hubUrl?: string | undefined;
  /** Credentials from the hub's enrollment; with `hubUrl`, the node keeps a sync link open. */
  hubCredentials?: { clientId: string; clientSecret: string } | undefined;
  /** PEM CA certificate(s) the https hub's certificate must chain to (`--hub-ca`); Node's trusted roots without. */
  hubCa?: Buffer | undefined;
  bootstrapStaff?: string | undefined;
  nowMs?: () => number;
  newId?: IdSource;
  logger?: Logger;
  /** Collect process metrics (memory, GC, event loop) in this node's registry: the process's own node only. */
  processMetrics?: boolean;
  /** Each signed-in account's request budget; `EDGE_SESSION_REQUESTS_*` (or the defaults) when unset. */
  sessionBudget?: { perSecond: number; burst: number };
  /** Tests only: a cheaper scrypt so suites that sign in often stay fast. */
  passwordCost?: ScryptCost;
};

export type EdgeNode = {
  app: EdgeApp;
  db: EdgeDatabase;
  book: StockBook;
  writer: StockWriter;
  queries: StockQueries;
  desk: FulfillmentDesk;
  returns: ReturnDesk;
  staff: StaffDirectory;
  metrics: EdgeMetrics;
  logger: Logger;
  warehouseId: string;
  edgeId: string;
  sync: EdgeSyncClient | undefined;
  close(): Promise<void>;
};

/** Wires one warehouse node: its database, stock book, group-commit writer, staff and HTTP app. */
export async function createEdgeNode(options: EdgeNodeOptions): Promise<EdgeNode> {
  const nowMs = options.nowMs ?? Date.now;
  const ids = options.newId ?? newId;
  const db = openEdgeDatabase(options.dataDir);
  try {
    const identity = ensureNodeIdentity(db, options.warehouseId, nowMs());
    const logger = options.logger ?? createLogger({ warehouseId: identity.warehouseId, edgeId: identity.edgeId });
    const book = new StockBook(db, { warehouseId: identity.warehouseId, edgeId: identity.edgeId, newId: ids });
    const queries = new StockQueries(db, book);
    const desk = new FulfillmentDesk(db, book, { newId: ids });
    const returns = new ReturnDesk(db, book);
    const lastContact = db.prepare<[], { last_contact_ms: number | null }>(
      'SELECT last_contact_ms FROM sync_link WHERE id = 1',
    );
    const metrics = createEdgeMetrics(
      () => {
        const upstream = queries.upstream();
        return { pending: upstream.pending, lastSeq: upstream.lastSeq, ackedSeq: upstream.ackedSeq };
      },
      {
        processMetrics: options.processMetrics ?? false,
        ...(options.hubUrl
          ? {
              link: () => ({
                connected: sync?.status.connected ?? false,
                lastContactMs: lastContact.get()?.last_contact_ms ?? null,
              }),
            }
          : {}),
      },
    );
    const staff = new StaffDirectory(db, {
      warehouseId: identity.warehouseId,
      newId: ids,
      nowMs,
      passwordCost: options.passwordCost,
    });
    let sync: EdgeSyncClient | undefined;
    const writer = new StockWriter(db, book, {
      nowMs,
      observe: (batch) => {
        metrics.writeBatchSize.observe(batch.size);
        metrics.writeBatchSeconds.observe(batch.durationMs / 1000);
        metrics.stockEvents.inc(batch.accepted);
        if (batch.accepted > 0) sync?.notifyOutbox();
      },
    });
    if (options.hubUrl && options.hubCredentials) {
      sync = new EdgeSyncClient({
        db,
        hubUrl: options.hubUrl,
        ...options.hubCredentials,
        ...(options.hubCa ? { hubCa: options.hubCa } : {}),
        warehouseId: identity.warehouseId,
        edgeId: identity.edgeId,
        logger,
        nowMs,
        applyChange: createChangeApplier(db, desk, book, nowMs),
        onChanges: () => staff.forgetCachedSessions(),
        onDrift: (sku) => {
          logger.warn({ sku }, "the hub's replica of this partition drifted: restating it");
          writer
            .submit({ command: { type: 'reconcile', sku, note: 'hub replica checksum differed' }, actor: 'sync' })
            .catch((error) => {
              logger.error({ err: error, sku }, 'could not record the reconcile event');
            });
        },
      });
    }
    const bootstrapped = await staff.bootstrap(options.bootstrapStaff);
    if (bootstrapped === 'created') logger.info('bootstrap supervisor created from EDGE_BOOTSTRAP_STAFF');
    const app = createEdgeApp({
      db,
      book,
      writer,
      queries,
      desk,
      returns,
      staff,
      metrics,
      logger,
      edgeId: identity.edgeId,
      hubUrl: options.hubUrl,
      sync,
      nowMs,
      sessionBudget: options.sessionBudget ?? sessionBudgetFromEnv(process.env),
    });
    const syncRun = sync?.run().catch((error) => logger.error({ err: error }, 'sync client stopped'));
    const checkpointer = startCheckpointer(db, path.join(options.dataDir, edgeDatabaseFile), {
      onError: (error) =>
        logger.error({ err: error }, 'the WAL checkpointer thread failed: the writer checkpoints again'),
    });
    const pruneTimer = setInterval(() => writer.pruneIdempotencyKeys(nowMs()), 60 * 60 * 1000).unref();
    return {
      app,
      db,
      book,
      writer,
      queries,
      desk,
      returns,
      staff,
      metrics,
      logger,
      warehouseId: identity.warehouseId,
      edgeId: identity.edgeId,
      sync,
      async close() {
        clearInterval(pruneTimer);
        await sync?.stop();
        await syncRun;
        await writer.close();
        await checkpointer.stop();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
