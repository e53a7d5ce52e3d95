import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('hub configuration', () => {
  it('defaults to SQLite in ./hub-data on port 4000', () => {
    const config = parseConfig([], {});
    expect(config.port).toBe(4000);
    expect(config.storage).toMatchObject({ kind: 'sqlite' });
    expect(config.externalIssuer).toBeUndefined();
  });

  it('caps held units per storefront client and SKU at 50 unless HUB_HOLD_UNITS_PER_SKU_MAX says otherwise', () => {
    expect(parseConfig([], {}).holdUnitsPerSkuMax).toBe(50);
    expect(parseConfig([], { HUB_HOLD_UNITS_PER_SKU_MAX: '12' }).holdUnitsPerSkuMax).toBe(12);
    expect(parseConfig([], { HUB_HOLD_UNITS_PER_SKU_MAX: 'off' }).holdUnitsPerSkuMax).toBeNull();
    for (const bad of ['0', '-3', '2.5', 'lots', '1000001'])
      expect(() => parseConfig([], { HUB_HOLD_UNITS_PER_SKU_MAX: bad })).toThrow(ConfigError);
  });

  it('keeps personal data until HUB_PII_RETENTION_DAYS says how many days after an order closes', () => {
    expect(parseConfig([], {}).piiRetentionDays).toBeUndefined();
    expect(parseConfig([], { HUB_PII_RETENTION_DAYS: 'off' }).piiRetentionDays).toBeUndefined();
    expect(parseConfig([], { HUB_PII_RETENTION_DAYS: '365' }).piiRetentionDays).toBe(365);
    for (const bad of ['0', '-3', 'soon', '1.5']) {
      expect(() => parseConfig([], { HUB_PII_RETENTION_DAYS: bad })).toThrow(ConfigError);
    }
  });

  it('records uncataloged stock unless HUB_UNCATALOGED_STOCK=refuse', () => {
    expect(parseConfig([], {}).uncatalogedStock).toBe('accept');
    expect(parseConfig([], { HUB_UNCATALOGED_STOCK: 'refuse' }).uncatalogedStock).toBe('refuse');
    expect(parseConfig([], { HUB_UNCATALOGED_STOCK: ' Accept ' }).uncatalogedStock).toBe('accept');
    expect(() => parseConfig([], { HUB_UNCATALOGED_STOCK: 'drop' })).toThrow(/accept or refuse/);
  });

  it('lets the webhook address guard through only the host:port entries of HUB_WEBHOOK_ALLOW_HOSTS', () => {
    expect(parseConfig([], {}).webhooks).toMatchObject({ allowPrivate: false, allowHosts: [] });
    expect(
      parseConfig([], { HUB_WEBHOOK_ALLOW_HOSTS: ' 10.0.0.7:8443, [::1]:4000 ,Partner.LAN:80' }).webhooks.allowHosts,
    ).toEqual(['10.0.0.7:8443', '[::1]:4000', 'partner.lan:80']);
    for (const bad of ['10.0.0.7', 'http://10.0.0.7:80', '10.0.0.7:0', '10.0.0.7:70000', 'a b:80', '*:80'])
      expect(() => parseConfig([], { HUB_WEBHOOK_ALLOW_HOSTS: bad }), bad).toThrow(ConfigError);
  });

  it('requires admin MFA only with HUB_REQUIRE_ADMIN_MFA=1', () => {
    expect(parseConfig([], {}).requireAdminMfa).toBe(false);
    expect(parseConfig([], { HUB_REQUIRE_ADMIN_MFA: '1' }).requireAdminMfa).toBe(true);
    expect(() => parseConfig([], { HUB_REQUIRE_ADMIN_MFA: 'maybe' })).toThrow(ConfigError);
  });

  it('takes flags over environment variables', () => {
    const config = parseConfig(['--port', '4100', '--data', '/tmp/hub-config-test'], {
      HUB_PORT: '4200',
      HUB_DATA_DIR: '/tmp/other',
    });
    expect(config.port).toBe(4100);
    expect(config.storage).toEqual({
      kind: 'sqlite',
      file: '/tmp/hub-config-test/hub.db',
      checkpointInBackground: true,
    });
  });

  it('serves TLS with --tls-cert and --tls-key (or HUB_TLS_*), both or neither; plain HTTP by default', () => {
    expect(parseConfig([], {}).tls).toBeUndefined();
    expect(parseConfig([], {}).publicUrl).toBe('http://127.0.0.1:4000');
    const flagged = parseConfig(['--tls-cert', '/etc/hub/cert.pem', '--tls-key', '/etc/hub/key.pem'], {
      HUB_TLS_CERT: '/elsewhere/cert.pem',
    });
    expect(flagged.tls).toEqual({ certFile: '/etc/hub/cert.pem', keyFile: '/etc/hub/key.pem' });
    expect(flagged.publicUrl).toBe('https://127.0.0.1:4000');
    const fromEnv = parseConfig([], { HUB_TLS_CERT: '/a/cert.pem', HUB_TLS_KEY: '/a/key.pem' });
    expect(fromEnv.tls).toEqual({ certFile: '/a/cert.pem', keyFile: '/a/key.pem' });
    expect(() => parseConfig(['--tls-cert', '/a/cert.pem'], {})).toThrow(/--tls-cert FILE and --tls-key FILE together/);
    expect(() => parseConfig([], { HUB_TLS_KEY: '/a/key.pem' })).toThrow(ConfigError);
  });

  it('uses PostgreSQL when DATABASE_URL is set, in DATABASE_SCHEMA when given', () => {
    const config = parseConfig([], {
      DATABASE_URL: 'postgres://u@h/db',
      DATABASE_SCHEMA: 'tenant_a',
      HUB_PORT: '4300',
    });
    expect(config.port).toBe(4300);
    expect(config.storage).toEqual({ kind: 'postgres', url: 'postgres://u@h/db', schema: 'tenant_a' });
  });

  it('refuses bad ports, unknown flags, short admin secrets and half an OIDC configuration', () => {
    expect(() => parseConfig(['--port', 'x'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--prot', '1'], {})).toThrow();
    expect(() => parseConfig([], { DOVETAIL_ADMIN_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => parseConfig([], { HUB_OIDC_ISSUER: 'https://idp' })).toThrow(ConfigError);
    expect(
      parseConfig([], { HUB_OIDC_ISSUER: 'https://idp', HUB_OIDC_JWKS_URL: 'https://idp/jwks' }).externalIssuer,
    ).toEqual({
      issuer: 'https://idp',
      jwksUrl: 'https://idp/jwks',
      audience: 'dovetail-api',
    });
  });

  it('reads the notification channels: SMTP with its sender, all three SMS settings or none, the feedback delay', () => {
    expect(parseConfig([], {}).notifications).toEqual({
      smtpUrl: undefined,
      mailFrom: undefined,
      sms: undefined,
      feedbackDelayMs: 2 * 24 * 3_600_000,
    });
    const config = parseConfig([], {
      HUB_SMTP_URL: 'smtp://127.0.0.1:2525',
      HUB_MAIL_FROM: 'Nordhaus <orders@nordhaus.example>',
      HUB_SMS_URL: 'https://api.sms.example/2010-04-01/Accounts/AC1',
      HUB_SMS_AUTH: 'AC1:secret',
      HUB_SMS_FROM: '+15005550006',
      HUB_FEEDBACK_DELAY_MS: '60000',
    });
    expect(config.notifications).toEqual({
      smtpUrl: 'smtp://127.0.0.1:2525',
      mailFrom: 'Nordhaus <orders@nordhaus.example>',
      sms: { url: 'https://api.sms.example/2010-04-01/Accounts/AC1', auth: 'AC1:secret', from: '+15005550006' },
      feedbackDelayMs: 60_000,
    });
    expect(() => parseConfig([], { HUB_SMTP_URL: 'smtp://127.0.0.1:2525' })).toThrow(/HUB_MAIL_FROM/);
    expect(() => parseConfig([], { HUB_SMTP_URL: 'http://mail', HUB_MAIL_FROM: 'a@b.example' })).toThrow(ConfigError);
    expect(() => parseConfig([], { HUB_SMTP_URL: 'smtp://h', HUB_MAIL_FROM: 'nobody' })).toThrow(ConfigError);
    expect(() => parseConfig([], { HUB_SMS_URL: 'https://api.sms.example' })).toThrow(/together/);
    expect(() => parseConfig([], { HUB_SMS_URL: 'ftp://x', HUB_SMS_AUTH: 'a:b', HUB_SMS_FROM: '+1' })).toThrow(
      ConfigError,
    );
    expect(() => parseConfig([], { HUB_FEEDBACK_DELAY_MS: '-1' })).toThrow(ConfigError);
  });
});
