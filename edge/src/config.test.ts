import { describe, expect, it } from 'vitest';
import { parseEdgeCommand } from './config.ts';

describe('parseEdgeCommand', () => {
  it('reads flags, with environment variables as fallbacks', () => {
    const command = parseEdgeCommand(['--port', '4200', '--data', '/tmp/e', '--warehouse', 'AMS-1'], {});
    expect(command).toMatchObject({
      command: 'serve',
      port: 4200,
      dataDir: '/tmp/e',
      warehouseId: 'AMS-1',
      host: '0.0.0.0',
    });
    const fromEnv = parseEdgeCommand([], { EDGE_PORT: '4300', EDGE_DATA_DIR: '/tmp/f', EDGE_WAREHOUSE_ID: 'RTM' });
    expect(fromEnv).toMatchObject({ port: 4300, dataDir: '/tmp/f', warehouseId: 'RTM' });
  });

  it('needs a warehouse to serve and a data directory to verify', () => {
    expect(() => parseEdgeCommand([], {})).toThrow(/--warehouse/);
    expect(() => parseEdgeCommand(['verify'], {})).toThrow(/--data/);
    expect(parseEdgeCommand(['verify', '--data', '/tmp/x'], {})).toEqual({ command: 'verify', dataDir: '/tmp/x' });
  });

  it('refuses bad ports, unknown flags and a hub without credentials', () => {
    expect(() => parseEdgeCommand(['--warehouse', 'W1', '--port', 'http'], {})).toThrow(/not a TCP port/);
    expect(() => parseEdgeCommand(['--warehouse', 'W1', '--colour', 'red'], {})).toThrow();
    expect(() => parseEdgeCommand(['--warehouse', 'W1', '--hub', 'http://hub:4000'], {})).toThrow(/client-id/);
    const synced = parseEdgeCommand(
      ['--warehouse', 'W1', '--hub', 'http://hub:4000', '--client-id', 'c', '--client-secret', 's'],
      {},
    );
    expect(synced).toMatchObject({ hubUrl: 'http://hub:4000', clientId: 'c', clientSecret: 's' });
  });

  it('serves TLS with --tls-cert and --tls-key, and verifies an https hub with --hub-ca', () => {
    const hub = ['--hub', 'https://hub:4000', '--client-id', 'c', '--client-secret', 's'];
    const plain = parseEdgeCommand(['--warehouse', 'W1', ...hub], {});
    expect(plain).not.toHaveProperty('tls');
    expect(plain).not.toHaveProperty('hubCaFile');
    const secured = parseEdgeCommand(
      ['--warehouse', 'W1', ...hub, '--tls-cert', '/e/cert.pem', '--tls-key', '/e/key.pem', '--hub-ca', '/e/ca.pem'],
      {},
    );
    expect(secured).toMatchObject({
      tls: { certFile: '/e/cert.pem', keyFile: '/e/key.pem' },
      hubCaFile: '/e/ca.pem',
    });
    const fromEnv = parseEdgeCommand(['--warehouse', 'W1', ...hub], {
      EDGE_TLS_CERT: '/f/cert.pem',
      EDGE_TLS_KEY: '/f/key.pem',
      EDGE_HUB_CA: '/f/ca.pem',
    });
    expect(fromEnv).toMatchObject({ tls: { certFile: '/f/cert.pem', keyFile: '/f/key.pem' }, hubCaFile: '/f/ca.pem' });
    expect(() => parseEdgeCommand(['--warehouse', 'W1', '--tls-key', '/e/key.pem'], {})).toThrow(/together/);
    expect(() => parseEdgeCommand(['--warehouse', 'W1', '--hub-ca', '/e/ca.pem'], {})).toThrow(/https hub/);
    expect(() =>
      parseEdgeCommand(
        [
          '--warehouse',
          'W1',
          '--hub',
          'http://hub:4000',
          '--client-id',
          'c',
          '--client-secret',
          's',
          '--hub-ca',
          '/e/ca.pem',
        ],
        {},
      ),
    ).toThrow(/https hub/);
  });
});
