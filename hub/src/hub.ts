import type { Database } from './database.ts';
import type http from 'node:http';
import type { Hono } from 'hono';
import pino, { type Logger } from 'pino';
import { ExternalIssuer, type ExternalIssuerConfig } from './identity/external.ts';
import { KeyStore } from './identity/keys.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { type ReturnPolicy, SignInGuard, defaultReturnPolicy, limits } from '@dovetail/shared';
import { Authenticator } from './identity/principal.ts';
import { type Storage, type StorageConfig, openStorage } from './db/connect.ts';
import { createApp } from './http/app.ts';
import { readOperationalFigures } from './operations/figures.ts';
import { type HubMetrics, createMetrics } from './http/observability.ts';
import type { HubDeps } from './http/trpc.ts';
import { ensureBootstrapAdmin } from './identity/clients.ts';
import { PostgresHoldBatcher } from './holds/postgres-batcher.ts';
import { SqliteHoldWriter } from './holds/sqlite-writer.ts';
import { sweepExpiredHolds } from './holds/service.ts';
import { expireExchanges } from './returns/exchanges.ts';
import { rebalanceQuotas } from './quotas/service.ts';
import { startPeriodic } from './periodic.ts';
import { PersonalDataVault, registerVault } from './db/personal-data.ts';
import { eraseExpiredPersonalData, retentionIntervalMs, sealPlainPersonalData } from './privacy/service.ts';
import { downstreamNotifier, downstreamNotifyChannel } from './downstream/notifier.ts';
import type { UncatalogedStockPolicy } from './sync/apply-push.ts';
import { type SyncServer, attachSyncServer } from './sync/server.ts';
import { webhookNotifier, webhookNotifyChannel } from './webhooks/notifier.ts';
import { type WebhookSettings, defaultWebhookSettings } from './webhooks/settings.ts';
import { WebhookWorker } from './webhooks/worker.ts';
import { listenOnChannel } from './db/listen.ts';
import { catalogCacheOf } from './catalog/cache.ts';
import { catalogChannel } from './catalog/service.ts';
import { notificationNotifier, notificationNotifyChannel } from './notifications/notifier.ts';
import { type NotificationSettings, defaultNotificationSettings, describeEndpoint } from './notifications/settings.ts';
import { NotificationWorker } from './notifications/worker.ts';

export type HubOptions = {
  storage: StorageConfig;
  /** `DOVETAIL_ADMIN_SECRET`: the bootstrap admin's secret on first start. */
  adminSecret?: string;
  issuer?: string;
  logger?: Logger;
  nowMs?: () => number;
  defaultMetrics?: boolean;
  /** Per-client request budget; defaults from shared limits. */
  rateLimit?: { perSecond: number; burst: number };
  /** `HUB_INSTANCES`: hub instances sharing the clients' budgets; each enforces 1/N (default 1). */
  instances?: number;
  /**
   * The default hold cap for storefront clients (`HUB_HOLD_UNITS_PER_SKU_MAX`): units of one SKU held
   * at once; undefined: shared limits' default (50); null: none. A client's own cap applies regardless.
   */
  holdUnitsPerSkuMax?: number | null;
  /**
   * `HUB_UNCATALOGED_STOCK`: `accept` (default) records an edge's stock of a SKU the catalog does
   * not list, unsellable until cataloged; `refuse` rejects it back to the edge with `unknown_sku`.
   */
  uncatalogedStock?: UncatalogedStockPolicy;
  /** `HUB_REQUIRE_ADMIN_MFA=1`: an admin without MFA signs in only to enrol it (docs/operations.md, "Staff MFA"). */
  requireAdminMfa?: boolean;
  /** 32-byte key that seals private signing keys at rest (`HUB_KEY_ENCRYPTION_KEY`). */
  keyEncryptionKey?: Buffer;
  /**
   * `HUB_PII_RETENTION_DAYS`: the personal data of orders closed longer than this is erased
   * (docs/operations.md, "Personal data"); undefined: kept.
   */
  piiRetentionDays?: number;
  /** Also accept tokens of this outside OIDC issuer, verified through its JWKS URL. */
  externalIssuer?: ExternalIssuerConfig;
  /** Webhook delivery: SSRF allowance, attempt timeout, disable threshold (`HUB_WEBHOOK_*`); tests shorten the schedule. */
  webhooks?: Partial<Omit<WebhookSettings, 'keyEncryptionKey'>>;
  /** `HUB_EASYPOST_WEBHOOK_SECRET`: accept EasyPost's signed tracker updates at /api/v1/carriers/easypost. */
  easypostWebhookSecret?: string;
  /** `HUB_PUBLIC_URL`: the address customers and partners reach the hub at (tracking links, e-mails). */
  publicUrl?: string;
  /** `HUB_BRAND_NAME`: the name customers see on the tracking page and in e-mails. */
  brand?: string;
  /** Return window and auto-authorization (`HUB_RETURN_*`); defaults from shared. */
  returns?: Partial<ReturnPolicy>;
  /** The operations console at `/ops`: when a fulfillment request counts as stuck (`HUB_OPS_*`). */
  ops?: { fulfillmentOverdueHours: number };
  /** Customer notifications: SMTP, SMS provider, feedback delay (`HUB_SMTP_URL`, …); tests shorten the clocks. */
  notifications?: Partial<NotificationSettings>;
};

export type Hub = {
  app: Hono;
  deps: HubDeps;
  storage: Storage<Database>;
  metrics: HubMetrics;
  /** Sends committed webhook deliveries; stopped by close(). */
  webhookWorker: WebhookWorker;
  /** Sends committed customer notifications (e-mail, SMS); stopped by close(). */
  notificationWorker: NotificationWorker;
  /** Set when the bootstrap admin was created just now with a generated secret: print it once. */
  generatedAdminSecret: string | undefined;
  /** Serves `/sync` (edge WebSockets) on the HTTP server the app listens on. */
  startSync(
    server: http.Server,
    options?: { pollIntervalMs?: number; uncatalogedStock?: UncatalogedStockPolicy },
  ): Promise<SyncServer>;
  close(): Promise<void>;
};

export const defaultIssuer = 'dovetail-hub';

/** Opens storage (migrating it), loads or creates the signing key, bootstraps `admin`, wires HTTP. */
export async function createHub(options: HubOptions): Promise<Hub> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const nowMs = options.nowMs ?? Date.now;
  const storage = await openStorage<Database>(options.storage);
  try {
    const webhooks: WebhookSettings = {
      ...defaultWebhookSettings,
      ...options.webhooks,
      keyEncryptionKey: options.keyEncryptionKey,
    };
    const keys = new KeyStore(storage.db, options.issuer ?? defaultIssuer, nowMs, options.keyEncryptionKey);
    await keys.init();
    // Customers' personal data is sealed under per-customer data keys wrapped by the same
    // key-encryption key; rows stored before that are sealed now (docs/operations.md, "Personal data").
    registerVault(storage.db, new PersonalDataVault(options.keyEncryptionKey));
    const sealedAtStart = await sealPlainPersonalData(storage.db);
    if (sealedAtStart > 0) logger.info({ rows: sealedAtStart }, 'sealed personal data stored in plain text');
    const bootstrap = await ensureBootstrapAdmin(storage.db, options.adminSecret, nowMs());
    const deps: HubDeps = {
      db: storage.db,
      dialect: storage.dialect,
      keys,
      authenticator: new Authenticator(
        storage.db,
        keys,
        nowMs,
        options.externalIssuer ? new ExternalIssuer(options.externalIssuer, nowMs) : undefined,
      ),
      loginThrottle: new SignInGuard(nowMs),
      rateLimiter: new RateLimiter(
        options.rateLimit?.perSecond ?? limits.clientRequestsPerSecond,
        options.rateLimit?.burst ?? limits.clientRequestsBurst,
        nowMs,
      ),
      tokenRateLimiter: new RateLimiter(limits.tokenRequestsPerSecond, limits.tokenRequestsBurst, nowMs),
      budgetInstances: options.instances ?? 1,
      nowMs,
      logger,
      webhooks,
      publicUrl: options.publicUrl ?? 'http://127.0.0.1:4000',
      returns: { ...defaultReturnPolicy, ...options.returns },
      mfa: {
        requireForAdmins: options.requireAdminMfa ?? false,
        keyEncryptionKey: options.keyEncryptionKey,
        issuer: options.issuer ?? defaultIssuer,
      },
    };
    // Holds are group-committed: by one writer on SQLite's raw handle, by a batcher on PostgreSQL (reserveHold finds them by db).
    const holdUnitsPerSkuMax =
      options.holdUnitsPerSkuMax === undefined
        ? limits.holdUnitsPerSkuMaxDefault
        : (options.holdUnitsPerSkuMax ?? undefined);
    const holdWriter = storage.sqlite
      ? new SqliteHoldWriter(storage.db, storage.sqlite, { holdUnitsPerSkuMax }).start()
      : new PostgresHoldBatcher(storage.db, { holdUnitsPerSkuMax }).start();
    // Background passes: expired holds leave the counters (correctness never waits for it), and
    // in-store quotas move toward each warehouse's policy.
    const sweeper = startPeriodic(
      'hold-sweeper',
      limits.holdSweepIntervalMs,
      () => sweepExpiredHolds(storage.db, storage.dialect, nowMs()),
      logger,
    );
    const rebalancer = startPeriodic(
      'quota-rebalancer',
      limits.quotaRebalanceIntervalMs,
      () => rebalanceQuotas(storage.db, storage.dialect, nowMs()),
      logger,
    );
    // Exchanges whose return did not arrive in time are canceled and their replacement's hold released.
    const exchangeExpiry = startPeriodic(
      'exchange-expiry',
      limits.exchangeExpiryIntervalMs,
      () => expireExchanges(storage.db, storage.dialect, nowMs()),
      logger,
    );
    // The catalog read cache of this instance: a catalog write on any instance clears it when its
    // pg_notify on the downstream channel arrives (catalog/cache.ts); on SQLite writes clear it in-process.
    const stopListeningForCatalog =
      options.storage.kind === 'postgres'
        ? await listenOnChannel(
            options.storage.url,
            downstreamNotifyChannel,
            (payload) => {
              if (payload === catalogChannel) catalogCacheOf(storage.db).invalidate();
            },
            logger,
          )
        : undefined;
    // Retention: personal data of orders closed longer than HUB_PII_RETENTION_DAYS is erased.
    const piiRetentionDays = options.piiRetentionDays;
    const retention =
      piiRetentionDays === undefined
        ? undefined
        : startPeriodic(
            'pii-retention',
            retentionIntervalMs,
            () => eraseExpiredPersonalData(storage.db, piiRetentionDays, nowMs()),
            logger,
          );
    // Webhook deliveries: woken at commit (in-process on SQLite; LISTEN/NOTIFY across instances on
    // PostgreSQL), polling as a backstop, and sending until stopped.
    const stopListeningForDeliveries =
      options.storage.kind === 'postgres'
        ? await listenOnChannel(options.storage.url, webhookNotifyChannel, () => webhookNotifier.notify(), logger)
        : undefined;
    const webhookWorker = new WebhookWorker({
      db: storage.db,
      dialect: storage.dialect,
      settings: webhooks,
      logger,
      nowMs,
    }).start();
    // Customer notifications: the same durable pattern (outbox rows committed with the change, a
    // leased worker sending them). A channel left unconfigured records its messages `skipped`.
    const notificationSettings: NotificationSettings = { ...defaultNotificationSettings, ...options.notifications };
    const stopListeningForNotifications =
      options.storage.kind === 'postgres'
        ? await listenOnChannel(
            options.storage.url,
            notificationNotifyChannel,
            () => notificationNotifier.notify(),
            logger,
          )
        : undefined;
    const notificationWorker = new NotificationWorker({
      db: storage.db,
      dialect: storage.dialect,
      settings: notificationSettings,
      brand: options.brand ?? 'Dovetail',
      publicUrl: deps.publicUrl,
      logger,
      nowMs,
    }).start();
    const channels = notificationWorker.channels;
    if (channels.email) {
      logger.info({ smtp: describeEndpoint(notificationSettings.smtpUrl ?? '') }, 'customer e-mails go out over SMTP');
    } else {
      logger.info('HUB_SMTP_URL is not set: customer e-mails are recorded as skipped, not sent');
    }
    if (channels.sms) {
      logger.info({ provider: describeEndpoint(notificationSettings.sms?.url ?? '') }, 'customer text messages are on');
    } else {
      logger.info('no SMS provider (HUB_SMS_URL): customer text messages are recorded as skipped, not sent');
    }
    // Operational gauges read the database at scrape time, so any instance reports the whole system.
    const metrics = createMetrics({
      defaultMetrics: options.defaultMetrics ?? false,
      figures: () => readOperationalFigures(storage.db, nowMs()),
      logger,
    });
    const app = createApp({
      deps,
      metrics,
      logger,
      schema: storage.schema,
      easypostWebhookSecret: options.easypostWebhookSecret,
      brand: options.brand,
      ops: options.ops,
    });
    let sync: SyncServer | undefined;
    let stopListening: (() => Promise<void>) | undefined;
    return {
      app,
      deps,
      storage,
      metrics,
      webhookWorker,
      notificationWorker,
      generatedAdminSecret: bootstrap.generatedSecret,
      async startSync(server, syncOptions = {}) {
        if (options.storage.kind === 'postgres') {
          stopListening = await listenOnChannel(
            options.storage.url,
            downstreamNotifyChannel,
            (payload) => {
              if (payload) downstreamNotifier.notify(payload);
            },
            logger,
          );
        }
        sync = attachSyncServer(server, {
          db: storage.db,
          dialect: storage.dialect,
          authenticator: deps.authenticator,
          notifier: downstreamNotifier,
          logger,
          nowMs,
          ...(options.uncatalogedStock ? { uncatalogedStock: options.uncatalogedStock } : {}),
          ...syncOptions,
        });
        return sync;
      },
      async close() {
        await webhookWorker.stop();
        await stopListeningForDeliveries?.();
        await notificationWorker.stop();
        await stopListeningForNotifications?.();
        await sweeper.stop();
        await rebalancer.stop();
        await exchangeExpiry.stop();
        await retention?.stop();
        await holdWriter?.close();
        await sync?.close();
        await stopListening?.();
        await stopListeningForCatalog?.();
        await storage.close();
      },
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}
