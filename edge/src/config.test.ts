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
});
