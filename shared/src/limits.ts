import { assert } from './assert.ts';

/**
 * Every queue, batch, page, payload and retry has a named bound here. Relations between them are
 * asserted when the module loads, so a change that breaks one fails at start-up, not in production.
 */

// Quantities: integers, bounded well inside Number.MAX_SAFE_INTEGER so sums never lose precision.
export const quantityMax = 1_000_000;
export const partitionOnHandMax = 1_000_000_000;

// Identifiers and text.
export const skuLengthMax = 64;
export const binLengthMax = 32;
export const lotLengthMax = 64;
export const serialLengthMax = 64;
export const serialsPerEventMax = 500;
export const referenceLengthMax = 128;
export const noteLengthMax = 1_000;
export const usernameLengthMax = 64;
export const passwordLengthMin = 10;
export const passwordLengthMax = 256;
export const warehouseIdLengthMax = 32;
export const idempotencyKeyLengthMax = 255;

// Partition detail kept in state (bins, lots, serials in stock).
export const binsPerPartitionMax = 1_000;
export const lotsPerPartitionMax = 1_000;
export const serialsPerPartitionMax = 100_000;

// HTTP.
export const requestBodyBytesMax = 64 * 1024;
export const pageSizeDefault = 50;
export const pageSizeMax = 500;

// Sessions and sign-in.
export const sessionTtlSecondsDefault = 12 * 60 * 60;
export const sessionsPerStaffMax = 50;
export const loginFailuresMax = 5;
export const loginLockoutSeconds = 60;
/** Failed sign-ins one source address may make: a burst, then this many a minute (known names or not). */
export const signInSourceFailuresBurst = 20;
export const signInSourceFailuresPerMinute = 10;
/** Names that exist one address may be slowed down on at once; beyond, the address is refused. */
export const signInNamesPerSourceMax = 50;
/** Bounds of the sign-in throttle's tables (docs: shared/src/auth/sign-in-guard.ts). */
export const signInSourcesTrackedMax = 20_000;
export const signInPairsTrackedMax = 50_000;
/** An address's failures on a name are forgotten after this long without one. */
export const signInFailureMemorySeconds = 15 * 60;
/** A sign-in attempt still being verified counts against its address and name for at most this long. */
export const signInPendingStaleSeconds = 60;
/** Password hashes (scrypt) computed at once, and sign-ins waiting for one, before a 429. */
export const passwordHashesConcurrentMax = 2;
export const passwordHashesQueuedMax = 4;
/** Sign-ins from one source address hashing or waiting at once. */
export const passwordHashesPerSourceMax = 2;
/** Requests one signed-in account may make at an edge: a burst, then this many a second (`EDGE_SESSION_REQUESTS_*`). */
export const edgeSessionRequestsPerSecondDefault = 20;
export const edgeSessionRequestsBurstDefault = 200;

// Edge write path: concurrent requests are committed together (group commit), one fsync per batch.
export const writeBatchEventsMax = 512;
export const writeQueueDepthMax = 10_000;

// Idempotency keys are kept at least this long (IETF draft: ≥ 24 h).
export const idempotencyRetentionSeconds = 24 * 60 * 60;

assert(pageSizeDefault <= pageSizeMax, 'default page size within the maximum');
assert(writeBatchEventsMax <= writeQueueDepthMax, 'a batch fits in the queue');
assert(serialsPerEventMax <= quantityMax, 'serials per event within quantity bound');
assert(quantityMax * writeBatchEventsMax < Number.MAX_SAFE_INTEGER, 'batch sums stay exact');
assert(partitionOnHandMax * 4 < Number.MAX_SAFE_INTEGER, 'partition sums stay exact');
assert(loginFailuresMax > 0 && loginLockoutSeconds > 0, 'login lockout configured');

// Hub catalog, identity and API surface.
export const productNameLengthMax = 200;
export const productDescriptionLengthMax = 5_000;
export const productVariantsMax = 200;
export const productOptionsMax = 10;
export const productOptionValuesMax = 50;
export const catalogSearchTextLengthMax = 100;
/** Configurable options of one product (fabric, width…) and the choices of one of them. */
export const productConfigurableOptionsMax = 10;
export const productConfigurableChoicesMax = 100;
/** The largest lead time a choice may add, in days (a year). */
export const configurationLeadTimeDaysMax = 365;
/** Option filters on one catalog read (`?option.color=sand&option.fabric=boucle`). */
export const catalogOptionFiltersMax = 5;
export const inventoryWarehousesPerSkuMax = 1_000;
export const accessTokenTtlSeconds = 15 * 60;
export const staffTokenTtlSeconds = 12 * 60 * 60;
export const clockToleranceSeconds = 30;
export const signingKeysPublishedMax = 3;
export const clientSecretBytes = 32;
export const clientNameLengthMax = 100;
export const scopeLengthMax = 1_000;
export const tokenRequestBytesMax = 4 * 1024;
export const principalCacheMs = 2_000;
export const downstreamPayloadBytesMax = 256 * 1024;

assert(accessTokenTtlSeconds > clockToleranceSeconds, 'tokens outlive the clock tolerance');
assert(signingKeysPublishedMax >= 2, 'rotation publishes the old and the new key');
assert(tokenRequestBytesMax <= requestBodyBytesMax, 'token requests within the body bound');

// Sync protocol (docs/architecture.md, "Sync protocol"): every frame, batch and window is bounded.
export const syncFrameBytesMax = 4 * 1024 * 1024;
/**
 * A push carries up to 2,048 events (256 before protocol version 6): catching up after an outage costs
 * the hub one transaction and a handful of statements per push, so bigger pushes drain a backlog faster.
 */
export const pushBatchEventsMax = 2_048;
/** What a peer older than protocol version 6 accepts in one push. */
export const pushBatchEventsMaxV5 = 256;
export const pushBatchBytesMax = 1024 * 1024;
/**
 * Pushes an edge keeps in flight: with two, the edge reads and sends the next batch while the hub
 * applies the one before, so catching up costs the slower side's time, not the sum of both.
 */
export const pushWindowBatchesMax = 2;
export const downstreamBatchChangesMax = 500;
export const channelNameLengthMax = 48;
export const channelsPerEdgeMax = 8;
/**
 * Frames one sync socket may send per second before the hub closes it (4429). An edge keeps a window
 * of pushes in flight and refills it on each ack, so on a fast LAN it legitimately sends hundreds per second.
 */
export const syncFramesPerSecondMax = 5_000;

assert(pushBatchBytesMax * 2 <= syncFrameBytesMax, 'a push batch leaves room in a frame for its envelope');
assert(pushBatchEventsMaxV5 <= pushBatchEventsMax, 'newer peers accept what older ones did');

/**
 * A frame that waits for an answer (a hello for its `welcome`, a push for its `ack`, a downstream
 * checkpoint for its `changes_ack`) unanswered this long: the waiting side drops the socket and the
 * edge reconnects and resumes from what was acknowledged. Ping/pong cannot see this: a hub wedged
 * on a lock, or a middlebox that swallows data frames, still answers pings. The bound leaves time to
 * carry the largest frame over the slowest link we sync over (asserted below) and for a busy hub to
 * commit a batch; a false alarm costs one reconnect and a resent batch (the hub recognises event ids
 * and the edge's cursor, so nothing counts twice), a missing alarm costs a warehouse that silently
 * stops syncing.
 */
export const syncAnswerTimeoutMs = 60_000;
/** The slowest link the answer bound is sized for: 1 Mbit/s (a weak 4G or rural DSL uplink). */
export const syncLinkBytesPerSecondMin = 128 * 1024;
/** What `EDGE_SYNC_ANSWER_TIMEOUT_MS` / `HUB_SYNC_ANSWER_TIMEOUT_MS` may set (tests use a second or two). */
export const syncAnswerTimeoutMsMin = 100;
export const syncAnswerTimeoutMsMax = 60 * 60 * 1000;

assert(
  (syncFrameBytesMax / syncLinkBytesPerSecondMin) * 1000 < syncAnswerTimeoutMs,
  'the largest frame crosses the slowest link within the answer bound',
);
assert(
  syncAnswerTimeoutMsMin <= syncAnswerTimeoutMs && syncAnswerTimeoutMs <= syncAnswerTimeoutMsMax,
  'the default answer bound is one the override may set',
);

// Idempotency-Key: an in-flight claim older than this is taken to be abandoned (its process died).
export const idempotencyInFlightAbandonMs = 60_000;
export const idempotencyResponseBytesMax = 256 * 1024;
assert(
  idempotencyInFlightAbandonMs < idempotencyRetentionSeconds * 1000,
  'abandoned claims expire before kept responses',
);

// Per-client request budget at the hub (token bucket, per instance). Generous: it stops a runaway
// client from starving the others, it is not a billing quota. The token endpoint is stricter.
export const clientRequestsPerSecond = 500;
export const clientRequestsBurst = 5_000;
export const tokenRequestsPerSecond = 10;
export const tokenRequestsBurst = 100;
export const rateLimitedClientsTrackedMax = 50_000;
assert(clientRequestsBurst >= clientRequestsPerSecond, 'a burst holds at least one second of requests');

// Checkout holds (docs/architecture.md, "Quantities"): bounded lifetime, lines and retries.
export const holdTtlSecondsDefault = 15 * 60;
export const holdTtlSecondsMin = 10;
export const holdTtlSecondsMax = 60 * 60;
export const holdLinesMax = 50;
export const holdReserveAttemptsMax = 3;
export const holdSweepPartitionsMax = 500;
export const holdSweepIntervalMs = 1_000;
/**
 * Units one client may hold of one SKU at once (active holds, renewals included) unless an operator
 * set the client's own cap: `HUB_HOLD_UNITS_PER_SKU_MAX`, per client `holdUnitsPerSkuMax`. 50 is far
 * above one shopper's basket (a cart line is rarely past a few units) yet stops one storefront
 * client from holding a whole drop's stock for an hour and renewing; the default applies to
 * `storefront` clients, a per-client cap to any client (docs/operations.md, "Hold cap").
 */
export const holdUnitsPerSkuMaxDefault = 50;

assert(
  holdTtlSecondsMin <= holdTtlSecondsDefault && holdTtlSecondsDefault <= holdTtlSecondsMax,
  'default hold TTL within its bounds',
);

// Orders: request bodies and the human order number.
export const orderLinesMax = 100;
export const customerNameLengthMax = 200;
export const emailLengthMax = 254;
export const phoneLengthMax = 32;
export const phoneDigitsMin = 6;
export const phoneDigitsMax = 15;
export const addressLineLengthMax = 200;
export const cityLengthMax = 100;
export const regionLengthMax = 100;
export const postalCodeLengthMax = 16;
export const orderStatusReasonLengthMax = 500;
/** Order numbers carry 7 Crockford base32 characters of sequence: `DT-XXXX-XXXC` (C = check). */
export const orderNumberSequenceCharacters = 7;
export const orderNumberSequenceMax = 32 ** orderNumberSequenceCharacters - 1;

// Returns (RMA) and refunds.
/** `HUB_RETURN_WINDOW_DAYS`: days after delivery (after shipment when not delivered) a return may be asked for. */
export const returnWindowDaysDefault = 30;
export const returnWindowDaysMax = 3_650;
/** `HUB_RETURN_AUTO_AUTHORIZE_VALUE_MAX`: returns worth at most this (minor units) are authorized by policy. */
export const returnAutoAuthorizeValueMaxDefault = 50_000;
/** `HUB_RETURN_EXCHANGE_WINDOW_DAYS`: days an exchange's replacement stays held waiting for the return. */
export const exchangeWindowDaysDefault = 30;
export const exchangeWindowDaysMax = 365;
/** The replacement's hold outlives the exchange window by this much, so the hub's pass cancels it first. */
export const exchangeHoldGraceMs = 86_400_000;
/** Exchanges the hub's pass cancels (window lapsed) per pass, and how often it runs. */
export const exchangeExpiryBatchMax = 100;
export const exchangeExpiryIntervalMs = 5_000;
/** The largest amount of money (minor units) one refund or order carries. */
export const moneyMinorUnitsMax = 1_000_000_000_000;
/** Returns one order may have (each request, rejected or not, is one). */
export const returnsPerOrderMax = 50;

// Allocation: candidates per order and the exact search's budget before it falls back to greedy.
export const allocationWarehousesMax = inventoryWarehousesPerSkuMax;
export const allocationSubsetsSearchedMax = 50_000;

assert(orderNumberSequenceMax < Number.MAX_SAFE_INTEGER, 'order sequences stay exact');
assert(phoneDigitsMin <= phoneDigitsMax && phoneDigitsMax <= phoneLengthMax, 'phone bounds agree');
assert(orderLinesMax * quantityMax < Number.MAX_SAFE_INTEGER, 'order quantity sums stay exact');
assert(
  allocationWarehousesMax * partitionOnHandMax < Number.MAX_SAFE_INTEGER,
  'allocation availability sums stay exact',
);
assert(
  allocationSubsetsSearchedMax >= allocationWarehousesMax,
  'the exact search can at least try each warehouse alone',
);

// Fulfillment at the edge: packages, carriers and tracking numbers as carriers issue them.
export const packagesPerFulfillmentMax = 50;
/** 1 t: a sectional sofa on a pallet is well under it. */
export const packageWeightGramsMax = 1_000_000;
/** 10 m on any side. */
export const packageDimensionMmMax = 10_000;
export const carrierLengthMax = 64;
export const trackingNumberLengthMax = 64;
/** Picks recorded on one fulfillment order (each pick scan is one row; a line may be picked in parts). */
export const picksPerFulfillmentMax = 1_000;

assert(packagesPerFulfillmentMax <= orderLinesMax * 10, 'packages per fulfillment stay in proportion to lines');
assert(picksPerFulfillmentMax >= orderLinesMax, 'every line of the largest order can be picked at least once');

// In-store quotas: escrow granted per partition, rebalanced by a policy ops set.
export const quotaUnitsMax = 10_000;
export const quotaPolicySkusMax = 1_000;
export const quotaRebalanceIntervalMs = 5_000;
/** Partitions one rebalancing pass looks at (the rest wait for the next pass). */
export const quotaRebalancePartitionsMax = 1_000;
/** A return request the edge has not answered in this long (offline, nothing left) stops counting. */
export const quotaReturnRequestTtlMs = 10 * 60 * 1000;

assert(quotaUnitsMax <= quantityMax, 'a quota target is a quantity');

// Webhooks (Standard Webhooks; retry schedule after Svix's).
export const webhookUrlLengthMax = 2_048;
export const webhookDescriptionLengthMax = 500;
export const webhookEventTypesPerEndpointMax = 32;
export const webhookEndpointsPerClientMax = 20;
/** Endpoints across all clients: an event fans out to at most this many deliveries. */
export const webhookEndpointsMax = 1_000;
/** Random bytes behind a `whsec_` secret (Standard Webhooks asks for 24 to 64). */
export const webhookSecretBytes = 32;
/** After a rotation the previous secret still signs (a second signature) this long. */
export const webhookPreviousSecretTtlMs = 24 * 60 * 60 * 1000;
export const webhookPayloadBytesMax = 256 * 1024;
/** Delay before each attempt after the event: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const webhookRetryScheduleMs = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
] as const;
/** Each retry delay is spread by ± this fraction, so endpoints that failed together do not retry together. */
export const webhookRetryJitterFraction = 0.1;
/** A receiver's `Retry-After` is honoured up to this long. */
export const webhookRetryAfterMsMax = 10 * 3_600_000;
/** One attempt (connect, send, answer) may take this long (`HUB_WEBHOOK_TIMEOUT_MS` sets it). */
export const webhookAttemptTimeoutMsDefault = 10_000;
export const webhookAttemptTimeoutMsMin = 100;
export const webhookAttemptTimeoutMsMax = 60_000;
/** An endpoint whose every attempt failed this long is disabled (`HUB_WEBHOOK_DISABLE_AFTER_MS` sets it). */
export const webhookDisableAfterMsDefault = 5 * 24 * 3_600_000;
export const webhookDisableAfterMsMin = 1_000;
/** Of a receiver's answer the worker reads at most this much, and keeps less. */
export const webhookResponseBytesReadMax = 16 * 1024;
export const webhookResponseBytesKeptMax = 1_024;
export const webhookErrorLengthMax = 500;
/** Attempts in flight at once per endpoint and per hub instance: a slow endpoint holds only its own. */
export const webhookInFlightPerEndpointMax = 32;
export const webhookInFlightMax = 256;
/** Attempt outcomes recorded in one transaction (group commit: one fsync for many attempts on SQLite). */
export const webhookRecordBatchMax = 256;
/** How long the first outcome waits for others to share its commit while more attempts are in flight. */
export const webhookRecordWindowMs = 5;
/** While attempts are in flight, a claim waits this long for more answers, to refill many slots at once. */
export const webhookClaimWindowMs = 10;
/** Finished deliveries (and their attempts, and events left without deliveries) are kept this long. */
export const webhookRetentionMs = 30 * 24 * 3_600_000;
export const webhookPruneIntervalMs = 60_000;
export const webhookPruneBatchMax = 1_000;
/** A claim holds a delivery this long past the attempt timeout: nobody else sends it meanwhile. */
export const webhookLeaseMarginMs = 10_000;
/**
 * At shutdown the worker waits this long for attempts in flight; one still running is abandoned (its
 * lease expires and it is sent again), so a hanging receiver cannot hold the hub's exit.
 */
export const webhookStopWaitMs = 5_000;
/** The worker looks for due deliveries at least this often (commits wake it sooner). */
export const webhookPollIntervalMs = 1_000;
/** Attempts shown per delivery (newest first). */
export const webhookAttemptsListedMax = 20;

assert(webhookSecretBytes >= 24 && webhookSecretBytes <= 64, 'webhook secrets carry 24 to 64 random bytes');
assert(webhookRetryScheduleMs[0] === 0, 'the first attempt is immediate');
assert(webhookInFlightPerEndpointMax <= webhookInFlightMax, 'an endpoint fits within the overall bound');
assert(
  webhookAttemptTimeoutMsMin <= webhookAttemptTimeoutMsDefault &&
    webhookAttemptTimeoutMsDefault <= webhookAttemptTimeoutMsMax,
  'the default attempt timeout is one the override may set',
);
assert(webhookResponseBytesKeptMax <= webhookResponseBytesReadMax, 'what is kept was read');
assert(webhookPayloadBytesMax <= downstreamPayloadBytesMax, 'a webhook body is no larger than a downstream payload');
assert(webhookEndpointsPerClientMax <= webhookEndpointsMax, 'one client fits within the endpoint bound');

// Carrier tracking: one scan is small; a parcel's journey has tens of scans, not thousands.
export const carrierEventIdLengthMax = 128;
export const trackingLocationLengthMax = 200;
export const trackingDescriptionLengthMax = 500;
/** Events kept per shipment: past it a carrier is looping, and more scans are refused (409). */
export const trackingEventsPerShipmentMax = 500;

// The customer's tracking page: public (a token is the only key), so rate-limited per address.
export const trackingPageRequestsPerSecond = 1;
export const trackingPageRequestsBurst = 30;

// Customer notifications (e-mail over SMTP, SMS through a provider) and feedback after delivery.
/** Delay before each attempt of one notification: at once, then 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h; then failed. */
export const notificationRetryScheduleMs = [
  0,
  30_000,
  2 * 60_000,
  10 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
] as const;
export const notificationRetryJitterFraction = 0.1;
/** One attempt (SMTP: connect, greeting, send; SMS: the provider's answer) may take this long. */
export const notificationAttemptTimeoutMs = 20_000;
/** A claim holds a notification this long past the attempt timeout: nobody else sends it meanwhile. */
export const notificationLeaseMarginMs = 10_000;
/** Attempts in flight at once per hub instance. */
export const notificationInFlightMax = 8;
/** The worker looks for due notifications at least this often (commits wake it sooner). */
export const notificationPollIntervalMs = 1_000;
/** At shutdown the worker waits this long for attempts in flight (an abandoned one is sent again). */
export const notificationStopWaitMs = 5_000;
export const notificationErrorLengthMax = 500;
/** Of an SMS provider's answer the worker reads at most this much. */
export const smsProviderResponseBytesMax = 16 * 1024;
/** A text message is cut to this many characters (three concatenated GSM segments). */
export const smsBodyLengthMax = 459;
/** Random bytes behind an unsubscribe or feedback token (192 bits, base64url: 32 characters). */
export const notificationTokenBytes = 24;
/** `HUB_FEEDBACK_DELAY_MS`: the feedback e-mail waits this long after delivery (default 2 days). */
export const feedbackDelayMsDefault = 2 * 24 * 3_600_000;
export const feedbackDelayMsMax = 60 * 24 * 3_600_000;
export const feedbackCommentLengthMax = 2_000;
/** Groups (warehouses, carriers) one feedback summary lists at most. */
export const feedbackSummaryGroupsMax = 200;
/** The unsubscribe and feedback pages are public (a token is the only key): rate-limited per address. */
export const notificationPageRequestsPerSecond = 1;
export const notificationPageRequestsBurst = 30;
/** A form posted to those pages (a rating and a comment at most). */
export const notificationPageBodyBytesMax = 32 * 1024;

assert(notificationRetryScheduleMs[0] === 0, 'the first notification attempt is immediate');
assert(notificationTokenBytes >= 16, 'notification tokens carry at least 128 random bits');
assert(feedbackDelayMsDefault <= feedbackDelayMsMax, 'the default feedback delay is one the override may set');
// Form encoding writes one UTF-16 unit of a comment as at most 9 bytes (`%E2%82%AC`).
assert(feedbackCommentLengthMax * 9 < notificationPageBodyBytesMax, 'a full comment fits a posted form, encoded');

// Per-client request budgets an operator sets (`POST/PATCH /clients`): bounds on what may be set.
export const clientRequestsPerSecondMax = 100_000;
export const clientRequestsBurstMax = 1_000_000;
