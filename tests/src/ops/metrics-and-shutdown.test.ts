import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, startEdgeProcess } from '../support/edge-process.ts';
import {
  type HubProcess,
  createHubProducts,
  enrollHubEdge,
  hubAdminToken,
  startHubProcess,
} from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { repoRoot } from '../support/paths.ts';
import {
  findPromtool,
  lintExposition,
  parseExposition,
  promtoolCheckMetrics,
  promtoolCheckRules,
} from '../support/prometheus.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * Operations against real processes (docs/operations.md): a hub and an edge synced to it; their
 * metrics are served on separate loopback listeners only, named `dovetail_hub_…`/`dovetail_edge_…`,
 * clean for `promtool check metrics` (and for the same rules in JavaScript where promtool is not
 * installed); the alert rules pass `promtool check rules` and, like the Grafana dashboard, name only
 * metrics the processes expose. Last, a SIGTERM to the hub with the edge connected exits 0 at once.
 */
const cleanup = new Cleanup();
let hub: HubProcess;
let edge: EdgeProcess;
const promtool = findPromtool();
const alertsFile = path.join(repoRoot, 'ops/prometheus/alerts.yml');
const dashboardFile = path.join(repoRoot, 'ops/grafana/dovetail.json');

async function scrape(metricsUrl: string): Promise<string> {
  const response = await requestJson<string>(metricsUrl, 'GET', '/metrics');
  expect(response.status).toBe(200);
  return response.body;
}

/** `name` with a histogram's or counter's sample suffix removed, so it matches its family. */
function familyOf(name: string, families: Set<string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(base) ? base : undefined;
}

beforeAll(async () => {
  const hubDir = createTempDir('ops-hub');
  const edgeDir = createTempDir('ops-edge');
  cleanup.add('remove temp dirs', () => {
    removeTempDir(hubDir);
    removeTempDir(edgeDir);
  });
  // Strict catalog: the scan of a SKU the hub does not list comes back as a rejection its metrics
  // count (by default the hub records such stock, unsellable, and rejects nothing).
  hub = await startHubProcess({ dataDir: hubDir, env: { HUB_UNCATALOGED_STOCK: 'refuse' } });
  cleanup.add('kill the hub', () => hub.kill());
  const admin = await hubAdminToken(hub.baseUrl);
  await createHubProducts(hub.baseUrl, admin, ['OPS-SOFA']);
  const credentials = await enrollHubEdge(hub.baseUrl, admin, 'OPS');
  edge = await startEdgeProcess({ dataDir: edgeDir, warehouseId: 'OPS', hub: { url: hub.baseUrl, ...credentials } });
  cleanup.add('kill the edge', () => edge.kill());
  const token = await signIn(edge.baseUrl, bootstrapStaff);
  for (const sku of ['OPS-SOFA', 'OPS-UNKNOWN']) {
    const scan = await requestJson(edge.baseUrl, 'POST', '/api/v1/stock/receive', {
      token,
      body: { sku, quantity: 2 },
    });
    expect(scan.status).toBe(201);
  }
  // Synced: both events acknowledged (the unknown SKU as a rejection the hub's metrics count).
  await waitUntil(
    'the edge to be connected with its outbox drained',
    async () => {
      const status = await requestJson<{ connected: boolean; pendingUpstream: number }>(
        edge.baseUrl,
        'GET',
        '/api/v1/sync/status',
        { token },
      );
      return status.body.connected && status.body.pendingUpstream === 0 ? true : undefined;
    },
    { timeoutMs: 60_000, describe: () => edge.output().slice(-2000) },
  );
});

afterAll(() => cleanup.runAll());

describe('metrics', () => {
  it('are not served on the API ports, which staff and clients reach', async () => {
    expect((await requestJson(hub.baseUrl, 'GET', '/metrics')).status).toBe(404);
    expect((await requestJson(edge.baseUrl, 'GET', '/metrics')).status).toBe(404);
  });

  it('name every application metric dovetail_hub_… or dovetail_edge_…, and report sync and rejections', async () => {
    const hubText = await scrape(hub.metricsUrl);
    const edgeText = await scrape(edge.metricsUrl);
    const standard = /^(process_|nodejs_)/;
    const hubNames = [...parseExposition(hubText).keys()].filter((name) => !standard.test(name));
    const edgeNames = [...parseExposition(edgeText).keys()].filter((name) => !standard.test(name));
    expect(hubNames.filter((name) => !name.startsWith('dovetail_hub_'))).toEqual([]);
    expect(edgeNames.filter((name) => !name.startsWith('dovetail_edge_'))).toEqual([]);
    expect(hubText).toMatch(/^dovetail_hub_edge_connected\{warehouse="OPS"\} 1$/m);
    expect(hubText).toMatch(/^dovetail_hub_edge_sync_lag_events\{warehouse="OPS"\} 0$/m);
    expect(hubText).toMatch(/^dovetail_hub_sync_rejections_total\{warehouse="OPS"\} 1$/m);
    expect(edgeText).toMatch(/^dovetail_edge_outbox_depth 0$/m);
    expect(edgeText).toMatch(/^dovetail_edge_hub_connected 1$/m);
    expect(edgeText).toMatch(/^dovetail_edge_stock_events_total 2$/m);
  });

  it('pass the promtool naming rules, and no gauge ends in _total', async () => {
    for (const text of [await scrape(hub.metricsUrl), await scrape(edge.metricsUrl)]) {
      expect(lintExposition(text)).toEqual([]);
      const misnamed = [...parseExposition(text).values()].filter(
        (family) => family.type !== 'counter' && family.name.endsWith('_total'),
      );
      expect(misnamed.map((family) => family.name)).toEqual([]);
      if (promtool) {
        const run = promtoolCheckMetrics(promtool, text);
        expect(run.output).toBe('');
        expect(run.status).toBe(0);
      } else {
        console.info('promtool not installed (apt-get install prometheus): naming checked in JavaScript only');
      }
    }
  });

  it('are the ones the alert rules and the Grafana dashboard query, and the rules load', async () => {
    const exposed = new Set([
      ...parseExposition(await scrape(hub.metricsUrl)).keys(),
      ...parseExposition(await scrape(edge.metricsUrl)).keys(),
    ]);
    const rules = fs.readFileSync(alertsFile, 'utf8');
    const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const queried = [
      ...rules.matchAll(/\b((?:dovetail|process|nodejs)_[a-z0-9_]+)/g),
      ...dashboard.panels.flatMap((panel) =>
        panel.targets.flatMap((target) => [...target.expr.matchAll(/\b((?:dovetail|process|nodejs)_[a-z0-9_]+)/g)]),
      ),
    ].map((match) => match[1] as string);
    expect(queried.length).toBeGreaterThan(10);
    expect([...new Set(queried)].filter((name) => familyOf(name, exposed) === undefined)).toEqual([]);
    for (const alert of ['sync_lag', 'outbox_depth', 'rejections', 'shortages', 'webhook']) {
      expect(rules).toContain(alert);
    }
    if (promtool) {
      const run = promtoolCheckRules(promtool, alertsFile);
      expect(run.output).toContain('SUCCESS');
      expect(run.status).toBe(0);
    } else {
      // Without promtool: at least the document's top-level key, after its header comments.
      expect(rules).toMatch(/^groups:\n/m);
      expect(rules.match(/^\s+- alert: \w+$/gm)?.length).toBe(rules.match(/^\s+expr: /gm)?.length);
    }
  });
});

describe('hub shutdown', () => {
  it('exits 0 promptly on SIGTERM with an edge connected, and the edge keeps serving', async () => {
    const started = Date.now();
    const exit = await hub.stop(10_000);
    const elapsedMs = Date.now() - started;
    console.info(`hub SIGTERM to exit with an edge connected: ${elapsedMs} ms`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(hub.output()).not.toMatch(/shutdown timed out|"level":50/);
    expect((await requestJson(edge.baseUrl, 'GET', '/healthz')).status).toBe(200);
  });
});
