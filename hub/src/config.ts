import path from 'node:path';
import { type ReturnPolicy, type ReturnReason, defaultReturnPolicy, limits, returnReasons } from '@dovetail/shared';
import { parseArgs } from 'node:util';
import type { ExternalIssuerConfig } from './identity/external.ts';
import { parseKeyEncryptionKey } from './identity/key-wrap.ts';
import { type StorageConfig, sqliteConfigFor } from './db/connect.ts';
import type { SmsSettings } from './notifications/settings.ts';

export type HubConfig = {
  port: number;
  host: string;
  /**
   * `--tls-cert FILE --tls-key FILE` (`HUB_TLS_CERT`, `HUB_TLS_KEY`): serve HTTPS and the sync
   * WebSocket as wss, with HSTS. Undefined: plain HTTP, the loopback/development default.
   */
  tls: { certFile: string; keyFile: string } | undefined;
  /**
   * The separate metrics listener (`HUB_METRICS_PORT`, default 9464; `HUB_METRICS_HOST`, default
   * 127.0.0.1): /metrics is never served on the API port. `explicit`: a port the operator chose, so
   * failing to bind it stops the hub; the default port, if taken, only logs. Undefined: `off`.
   */
  metrics: { port: number; host: string; explicit: boolean } | undefined;
  storage: StorageConfig;
  adminSecret: string | undefined;
  issuer: string;
  logLevel: string;
  externalIssuer: ExternalIssuerConfig | undefined;
  keyEncryptionKey: Buffer | undefined;
  /** Where the key-encryption key is kept when `HUB_KEY_ENCRYPTION_KEY` is not set (generated on first start). */
  keyEncryptionKeyFile: string;
  webhooks: { allowPrivate: boolean; allowHosts: string[]; attemptTimeoutMs: number; disableAfterMs: number };
  /** Returns and exchanges: `HUB_RETURN_WINDOW_DAYS`, `HUB_RETURN_AUTO_AUTHORIZE_*`, `HUB_RETURN_EXCHANGE_WINDOW_DAYS`, `HUB_RETURN_ADVANCE_EXCHANGE`. */
  returns: ReturnPolicy;
  /** `HUB_EASYPOST_WEBHOOK_SECRET`: EasyPost's tracker updates are accepted when set. */
  easypostWebhookSecret: string | undefined;
  /** The default per-client request budget (`HUB_CLIENT_REQUESTS_PER_SECOND`, `HUB_CLIENT_REQUESTS_BURST`). */
  requestBudget: { perSecond: number; burst: number };
  /** `HUB_INSTANCES` (default 1): hub instances sharing the clients' budgets; each enforces 1/N of them. */
  instances: number;
  /**
   * `HUB_HOLD_UNITS_PER_SKU_MAX` (default 50, or `off`): units a storefront client may hold of one
   * SKU at once unless its own cap is set (docs/operations.md, "Hold cap"). Null: no default cap.
   */
  holdUnitsPerSkuMax: number | null;
  /**
   * `HUB_UNCATALOGED_STOCK` (default `accept`): an edge's stock of a SKU the catalog does not list is
   * recorded, unsellable until cataloged; `refuse` sends it back to the edge as `unknown_sku`.
   */
  uncatalogedStock: 'accept' | 'refuse';
  /** `HUB_REQUIRE_ADMIN_MFA=1`: admins must enrol TOTP before their sign-in gives more than enrolment (docs/operations.md, "Staff MFA"). */
  requireAdminMfa: boolean;
  /** `HUB_PII_RETENTION_DAYS` (default `off`): personal data of orders closed longer than this is erased (docs/operations.md, "Personal data"). */
  piiRetentionDays: number | undefined;
  /** `HUB_PUBLIC_URL`: how customers reach the hub (tracking links); defaults to the listening address. */
  publicUrl: string;
  /** `HUB_BRAND_NAME`: the name customers see (tracking page, e-mails). */
  brand: string;
  /** The operations console: `HUB_OPS_FULFILLMENT_OVERDUE_HOURS` (default 24), when a fulfillment request counts as stuck. */
  ops: { fulfillmentOverdueHours: number };
  /** Customer notifications: `HUB_SMTP_URL` + `HUB_MAIL_FROM`, `HUB_SMS_*`, `HUB_FEEDBACK_DELAY_MS`. */
  notifications: {
    smtpUrl: string | undefined;
    mailFrom: string | undefined;
    sms: SmsSettings | undefined;
    feedbackDelayMs: number;
  };
};

const usage = `usage: npm run hub -- [--port 4000] [--host 127.0.0.1] [--data DIR] [--tls-cert FILE --tls-key FILE]
  env: HUB_PORT, HUB_HOST, HUB_DATA_DIR, DATABASE_URL (PostgreSQL instead of SQLite), DATABASE_SCHEMA,
       HUB_TLS_CERT + HUB_TLS_KEY (PEM certificate chain and private key: HTTPS and wss, with HSTS;
       without them plain HTTP, the loopback/development default),
       DOVETAIL_ADMIN_SECRET (bootstrap admin secret on first start), HUB_ISSUER, LOG_LEVEL,
       HUB_OIDC_ISSUER + HUB_OIDC_JWKS_URL [+ HUB_OIDC_AUDIENCE] (accept an outside issuer's tokens),
       HUB_KEY_ENCRYPTION_KEY (32 bytes base64: seals private signing keys at rest), else
       HUB_KEY_ENCRYPTION_KEY_FILE (default DIR/hub.kek, generated 0600 on first start; it also wraps
       customers' data keys), HUB_PII_RETENTION_DAYS (default off: erase personal data of orders closed longer),
       HUB_WEBHOOK_ALLOW_PRIVATE=1 (webhook URLs may be loopback/private), HUB_WEBHOOK_TIMEOUT_MS,
       HUB_WEBHOOK_DISABLE_AFTER_MS (disable an endpoint failing this long),
       HUB_EASYPOST_WEBHOOK_SECRET (accept EasyPost tracker updates at /api/v1/carriers/easypost),
       HUB_RETURN_WINDOW_DAYS (default 30), HUB_RETURN_AUTO_AUTHORIZE_REASONS (comma-separated; empty: none),
       HUB_RETURN_AUTO_AUTHORIZE_VALUE_MAX (minor units; returns worth more wait for an agent),
       HUB_RETURN_EXCHANGE_WINDOW_DAYS (default 30: an exchange's replacement is held this long for the return),
       HUB_RETURN_ADVANCE_EXCHANGE=1 (exchanges ship the replacement at once, before the return arrives),
       HUB_PUBLIC_URL (the address in tracking links and e-mails; default http://HOST:PORT),
       HUB_CLIENT_REQUESTS_PER_SECOND, HUB_CLIENT_REQUESTS_BURST (default budget per API client: 500/s, 5000),
       HUB_INSTANCES (hub instances on one PostgreSQL sharing the clients' budgets; each enforces 1/N; default 1),
       HUB_HOLD_UNITS_PER_SKU_MAX (units a storefront client may hold of one SKU at once; default 50, or off),
       HUB_UNCATALOGED_STOCK=accept|refuse (an edge's stock of a SKU not in the catalog: recorded, unsellable until cataloged (default), or refused back to the edge),
       HUB_REQUIRE_ADMIN_MFA=1 (admins sign in with a TOTP code; one without MFA gets a token only to enrol),
       HUB_OPS_FULFILLMENT_OVERDUE_HOURS (the /ops console lists a fulfillment unpacked this long as stuck; default 24),
       HUB_BRAND_NAME (the name customers see on the tracking page and in e-mails; default Dovetail),
       HUB_SMTP_URL + HUB_MAIL_FROM (customer e-mails over SMTP; unset: recorded as skipped),
       HUB_SMS_URL + HUB_SMS_AUTH=user:secret + HUB_SMS_FROM (customer text messages, Twilio-style API),
       HUB_FEEDBACK_DELAY_MS (the feedback e-mail's wait after delivery; default 2 days),
       HUB_METRICS_PORT (Prometheus /metrics on its own listener; default 9464, or off),
       HUB_METRICS_HOST (that listener's address; default 127.0.0.1, loopback only)`;

/** Flags win over environment variables, which win over defaults. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): HubConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) throw new ConfigError(usage);
  const portText = values.port ?? env['HUB_PORT'] ?? '4000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`bad port ${portText}\n${usage}`);
  const databaseUrl = env['DATABASE_URL'];
  // npm runs workspace scripts inside hub/: a relative path means where the user typed the command.
  const dataDirectory = path.resolve(
    env['INIT_CWD'] ?? process.cwd(),
    values.data ?? env['HUB_DATA_DIR'] ?? './hub-data',
  );
  const schema = env['DATABASE_SCHEMA'] || undefined;
  const storage: StorageConfig = databaseUrl
    ? { kind: 'postgres', url: databaseUrl, ...(schema ? { schema } : {}) }
    : sqliteConfigFor(dataDirectory, { checkpointInBackground: true });
  const tls = tlsFilesOf(
    values['tls-cert'] ?? env['HUB_TLS_CERT'],
    values['tls-key'] ?? env['HUB_TLS_KEY'],
    env['INIT_CWD'] ?? process.cwd(),
  );
  const adminSecret = env['DOVETAIL_ADMIN_SECRET'] || undefined;
  if (adminSecret !== undefined && adminSecret.length < 16)
    throw new ConfigError('DOVETAIL_ADMIN_SECRET must be at least 16 characters');
  const oidcIssuer = env['HUB_OIDC_ISSUER'];
  const oidcJwksUrl = env['HUB_OIDC_JWKS_URL'];
  if (Boolean(oidcIssuer) !== Boolean(oidcJwksUrl))
    throw new ConfigError('set both HUB_OIDC_ISSUER and HUB_OIDC_JWKS_URL, or neither');
  if (oidcJwksUrl && !/^https?:\/\//.test(oidcJwksUrl))
    throw new ConfigError('HUB_OIDC_JWKS_URL must be an http(s) URL');
  const externalIssuer =
    oidcIssuer && oidcJwksUrl
      ? { issuer: oidcIssuer, jwksUrl: oidcJwksUrl, audience: env['HUB_OIDC_AUDIENCE'] ?? 'dovetail-api' }
      : undefined;
  let keyEncryptionKey: Buffer | undefined;
  if (env['HUB_KEY_ENCRYPTION_KEY']) {
    try {
      keyEncryptionKey = parseKeyEncryptionKey(env['HUB_KEY_ENCRYPTION_KEY']);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const keyEncryptionKeyFile = path.resolve(
    env['INIT_CWD'] ?? process.cwd(),
    env['HUB_KEY_ENCRYPTION_KEY_FILE'] || path.join(dataDirectory, 'hub.kek'),
  );
  const webhooks = {
    allowPrivate: ['1', 'true', 'yes'].includes((env['HUB_WEBHOOK_ALLOW_PRIVATE'] ?? '').toLowerCase()),
    allowHosts: allowedWebhookHosts(env['HUB_WEBHOOK_ALLOW_HOSTS']),
    attemptTimeoutMs: integerSetting(
      env,
      'HUB_WEBHOOK_TIMEOUT_MS',
      limits.webhookAttemptTimeoutMsDefault,
      limits.webhookAttemptTimeoutMsMin,
      limits.webhookAttemptTimeoutMsMax,
    ),
    disableAfterMs: integerSetting(
      env,
      'HUB_WEBHOOK_DISABLE_AFTER_MS',
      limits.webhookDisableAfterMsDefault,
      limits.webhookDisableAfterMsMin,
      Number.MAX_SAFE_INTEGER,
    ),
  };
  const notifications = {
    ...notificationChannels(env),
    feedbackDelayMs: integerSetting(
      env,
      'HUB_FEEDBACK_DELAY_MS',
      limits.feedbackDelayMsDefault,
      0,
      limits.feedbackDelayMsMax,
    ),
  };
  const requestsPerSecond = integerSetting(
    env,
    'HUB_CLIENT_REQUESTS_PER_SECOND',
    limits.clientRequestsPerSecond,
    1,
    limits.clientRequestsPerSecondMax,
  );
  const requestBudget = {
    perSecond: requestsPerSecond,
    burst: integerSetting(
      env,
      'HUB_CLIENT_REQUESTS_BURST',
      Math.max(limits.clientRequestsBurst, requestsPerSecond),
      requestsPerSecond,
      limits.clientRequestsBurstMax,
    ),
  };
  const holdCapText = (env['HUB_HOLD_UNITS_PER_SKU_MAX'] ?? '').trim().toLowerCase();
  const holdUnitsPerSkuMax =
    holdCapText === 'off'
      ? null
      : integerSetting(env, 'HUB_HOLD_UNITS_PER_SKU_MAX', limits.holdUnitsPerSkuMaxDefault, 1, limits.quantityMax);
  const retentionText = (env['HUB_PII_RETENTION_DAYS'] ?? '').trim().toLowerCase();
  const piiRetentionDays =
    retentionText === '' || retentionText === 'off'
      ? undefined
      : integerSetting(env, 'HUB_PII_RETENTION_DAYS', 0, 1, 36_500);
  return {
    port,
    holdUnitsPerSkuMax,
    requireAdminMfa: booleanSetting(env, 'HUB_REQUIRE_ADMIN_MFA', false),
    uncatalogedStock: uncatalogedStockOf(env['HUB_UNCATALOGED_STOCK']),
    piiRetentionDays,
    metrics: metricsListenerOf(env),
    webhooks,
    notifications,
    requestBudget,
    instances: integerSetting(env, 'HUB_INSTANCES', 1, 1, 64),
    ops: { fulfillmentOverdueHours: hoursSetting(env, 'HUB_OPS_FULFILLMENT_OVERDUE_HOURS', 24, 24 * 365) },
    returns: returnPolicyOf(env),
    easypostWebhookSecret: env['HUB_EASYPOST_WEBHOOK_SECRET'] || undefined,
    brand: (env['HUB_BRAND_NAME'] ?? '').trim().slice(0, 80) || 'Dovetail',
    publicUrl: publicUrlOf(
      env['HUB_PUBLIC_URL'],
      values.host ?? env['HUB_HOST'] ?? '127.0.0.1',
      port,
      tls !== undefined,
    ),
    tls,
    externalIssuer,
    keyEncryptionKey,
    keyEncryptionKeyFile,
    host: values.host ?? env['HUB_HOST'] ?? '127.0.0.1',
    storage,
    adminSecret,
    issuer: env['HUB_ISSUER'] ?? 'dovetail-hub',
    logLevel: env['LOG_LEVEL'] ?? 'info',
  };
}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function uncatalogedStockOf(value: string | undefined): 'accept' | 'refuse' {
  const text = (value ?? '').trim().toLowerCase();
  if (text === '' || text === 'accept') return 'accept';
  if (text === 'refuse') return 'refuse';
  throw new ConfigError('HUB_UNCATALOGED_STOCK must be accept or refuse');
}

function booleanSetting(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = (env[name] ?? '').trim().toLowerCase();
  if (text === '') return fallback;
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['0', 'false', 'no'].includes(text)) return false;
  throw new ConfigError(`${name} must be 1 or 0`);
}

/** SMTP (`HUB_SMTP_URL`, which needs `HUB_MAIL_FROM`) and the SMS provider (all three `HUB_SMS_*` or none). */
function notificationChannels(env: NodeJS.ProcessEnv): {
  smtpUrl: string | undefined;
  mailFrom: string | undefined;
  sms: SmsSettings | undefined;
} {
  const smtpUrl = env['HUB_SMTP_URL'] || undefined;
  const mailFrom = (env['HUB_MAIL_FROM'] ?? '').trim() || undefined;
  if (smtpUrl) {
    let url: URL;
    try {
      url = new URL(smtpUrl);
    } catch {
      throw new ConfigError('HUB_SMTP_URL is not a URL (e.g. smtp://127.0.0.1:2525 or smtps://user:pass@host:465)');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw new ConfigError('HUB_SMTP_URL must be smtp:// or smtps://');
    if (!mailFrom) throw new ConfigError('HUB_SMTP_URL needs HUB_MAIL_FROM, e.g. "Nordhaus <orders@nordhaus.example>"');
  }
  if (mailFrom && !/^[^<>@\s]+@[^<>@\s]+$|<[^<>@\s]+@[^<>@\s]+>$/.test(mailFrom)) {
    throw new ConfigError('HUB_MAIL_FROM must be an address, e.g. "Nordhaus <orders@nordhaus.example>"');
  }
  const smsUrl = env['HUB_SMS_URL'] || undefined;
  const smsAuth = env['HUB_SMS_AUTH'] || undefined;
  const smsFrom = (env['HUB_SMS_FROM'] ?? '').trim() || undefined;
  if (!smsUrl && !smsAuth && !smsFrom) return { smtpUrl, mailFrom, sms: undefined };
  if (!smsUrl || !smsAuth || !smsFrom)
    throw new ConfigError('set HUB_SMS_URL, HUB_SMS_AUTH and HUB_SMS_FROM together, or none');
  if (!/^https?:\/\//.test(smsUrl)) throw new ConfigError('HUB_SMS_URL must be an http(s) URL');
  if (!smsAuth.includes(':')) throw new ConfigError('HUB_SMS_AUTH must be user:secret');
  return { smtpUrl, mailFrom, sms: { url: smsUrl, auth: smsAuth, from: smsFrom } };
}

/** The return policy: window, and which returns policy authorizes without an agent. */
function returnPolicyOf(env: NodeJS.ProcessEnv): ReturnPolicy {
  const reasonsText = env['HUB_RETURN_AUTO_AUTHORIZE_REASONS'];
  const reasons =
    reasonsText === undefined
      ? defaultReturnPolicy.autoAuthorizeReasons
      : reasonsText
          .split(',')
          .map((reason) => reason.trim())
          .filter((reason) => reason.length > 0);
  for (const reason of reasons) {
    if (!(returnReasons as readonly string[]).includes(reason))
      throw new ConfigError(`HUB_RETURN_AUTO_AUTHORIZE_REASONS: ${reason} is not one of ${returnReasons.join(', ')}`);
  }
  return {
    windowDays: integerSetting(
      env,
      'HUB_RETURN_WINDOW_DAYS',
      limits.returnWindowDaysDefault,
      0,
      limits.returnWindowDaysMax,
    ),
    autoAuthorizeReasons: reasons as ReturnReason[],
    autoAuthorizeValueMax: integerSetting(
      env,
      'HUB_RETURN_AUTO_AUTHORIZE_VALUE_MAX',
      limits.returnAutoAuthorizeValueMaxDefault,
      0,
      limits.moneyMinorUnitsMax,
    ),
    exchangeWindowDays: integerSetting(
      env,
      'HUB_RETURN_EXCHANGE_WINDOW_DAYS',
      limits.exchangeWindowDaysDefault,
      1,
      limits.exchangeWindowDaysMax,
    ),
    advanceExchange: booleanSetting(env, 'HUB_RETURN_ADVANCE_EXCHANGE', defaultReturnPolicy.advanceExchange),
  };
}

/** Default port of the metrics listener (Prometheus exporters' customary range). */
export const defaultMetricsPort = 9464;

function metricsListenerOf(env: NodeJS.ProcessEnv): HubConfig['metrics'] {
  const text = (env['HUB_METRICS_PORT'] ?? '').trim();
  if (text === 'off') return undefined;
  const port = text === '' ? defaultMetricsPort : Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`HUB_METRICS_PORT=${text.slice(0, 20)} must be a TCP port or off`);
  return { port, host: (env['HUB_METRICS_HOST'] ?? '').trim() || '127.0.0.1', explicit: text !== '' };
}

/** The certificate and key files, both or neither; relative paths mean where the command was typed. */
function tlsFilesOf(certFile: string | undefined, keyFile: string | undefined, base: string): HubConfig['tls'] {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new ConfigError('give --tls-cert FILE and --tls-key FILE together (HUB_TLS_CERT, HUB_TLS_KEY), or neither');
  return { certFile: path.resolve(base, certFile), keyFile: path.resolve(base, keyFile) };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `HUB_PUBLIC_URL` as an origin (http or https, no path), or the listening address. */
function publicUrlOf(configured: string | undefined, host: string, port: number, tls: boolean): string {
  if (!configured) return `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new ConfigError(`HUB_PUBLIC_URL=${configured.slice(0, 80)} is not a URL (e.g. https://shop.example.com)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('HUB_PUBLIC_URL must be http(s)');
  return url.origin;
}

/** A number of hours, fractions allowed (0.5 is half an hour), from 0 to `max`. */
function hoursSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const text = (env[name] ?? '').trim();
  if (text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new ConfigError(`${name} must be a number of hours from 0 to ${max}`);
  }
  return value;
}

/**
 * `HUB_WEBHOOK_ALLOW_HOSTS`: comma-separated `host:port` entries (`10.0.0.7:8443`, `[::1]:4000`,
 * `partner.lan:443`) the webhook address guard lets through. Anything else is refused at start.
 */
export function allowedWebhookHosts(text: string | undefined): string[] {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  for (const entry of entries) {
    const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):([0-9]{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535)
      throw new ConfigError(`HUB_WEBHOOK_ALLOW_HOSTS: ${JSON.stringify(entry)} is not host:port`);
  }
  return entries;
}
