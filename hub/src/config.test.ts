import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('hub configuration', () => {
  it('defaults to SQLite in ./hub-data on port 4000', () => {
    const config = parseConfig([], {});
    expect(config.port).toBe(4000);
    expect(config.storage).toMatchObject({ kind: 'sqlite' });
    expect(config.externalIssuer).toBeUndefined();
  });

  it('takes flags over environment variables', () => {
    const config = parseConfig(['--port', '4100', '--data', '/tmp/hub-config-test'], {
      HUB_PORT: '4200',
      HUB_DATA_DIR: '/tmp/other',
    });
    expect(config.port).toBe(4100);
    expect(config.storage).toEqual({ kind: 'sqlite', file: '/tmp/hub-config-test/hub.db' });
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
});
