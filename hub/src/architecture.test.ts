import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The hub reads in one direction (docs/architecture.md): `http/` (tRPC routers, REST, middleware)
 * → feature folders (catalog, identity, orders, …) → `db/` at the bottom; the files at the root of
 * `src/` (hub.ts, main.ts, config.ts, database.ts, …) compose them. This test reads the real import
 * graph of every non-test module and lists each import that goes against that direction.
 */

/** Each module (a path under `hub/src`, `/`-separated) with the specifiers it imports or re-exports. */
type ImportGraph = ReadonlyMap<string, readonly string[]>;

const httpLibraries = [/^@trpc\//, /^hono(\/|$)/, /^@hono\//, /^trpc-to-openapi(\/|$)/];

/** The folder a module belongs to, or `.` for the composition files at the root of `src/`. */
function folderOf(module: string): string {
  const slash = module.indexOf('/');
  return slash === -1 ? '.' : module.slice(0, slash);
}

/** Every import in `graph` that breaks the hub's direction, one sentence each, sorted. */
function layerViolations(graph: ImportGraph): string[] {
  const found: string[] = [];
  const folderEdges = new Map<string, string>(); // "from>to" → the first module seen importing so
  for (const [module, specifiers] of graph) {
    const from = folderOf(module);
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.')) {
        if (from !== '.' && from !== 'http' && httpLibraries.some((library) => library.test(specifier))) {
          found.push(`${module} imports ${specifier}: only http/ (and the root files) speak HTTP or tRPC`);
        }
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(module), specifier));
      if (target.startsWith('../')) {
        found.push(`${module} imports ${specifier}, outside hub/src: import a workspace by its package name`);
        continue;
      }
      const to = folderOf(target);
      if (to === from || from === '.') continue;
      if (to === 'http') found.push(`${module} imports ${specifier}: nothing below http/ imports http/`);
      if (from === 'db') {
        found.push(`${module} imports ${specifier}: db/ is the bottom, it imports no feature and no root file`);
      }
      if (to !== '.' && !folderEdges.has(`${from}>${to}`)) folderEdges.set(`${from}>${to}`, module);
    }
  }
  for (const [edge, module] of folderEdges) {
    const [from, to] = edge.split('>') as [string, string];
    const back = folderEdges.get(`${to}>${from}`);
    if (back !== undefined && from < to) {
      found.push(`${from}/ and ${to}/ import each other (${module} → ${to}/, ${back} → ${from}/)`);
    }
  }
  return found.sort();
}

/** The import graph of the non-test TypeScript modules under `root`. */
function readImportGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    if (entry.name.endsWith('.d.ts') || /\.test\.ts$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    const module = path.relative(root, file).split(path.sep).join('/');
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      module,
      importedFiles.map((imported) => imported.fileName),
    );
  }
  return graph;
}

const hubSource = path.dirname(fileURLToPath(import.meta.url));

describe('the hub reads in one direction: http → features → db', () => {
  it('has no import against the direction in hub/src', () => {
    const graph = readImportGraph(hubSource);
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('hub.ts')).toContain('./http/app.ts');
    expect(layerViolations(graph)).toEqual([]);
  });

  it('names a service that imports http/ or tRPC, a db/ that imports a feature, and a two-way pair', () => {
    const graph = new Map<string, string[]>([
      ['hub.ts', ['./http/app.ts', './orders/service.ts', 'hono']],
      ['http/app.ts', ['hono', '@trpc/server', '../orders/service.ts', '../db/connect.ts']],
      ['http/routers/orders.ts', ['../../orders/service.ts', '../trpc.ts']],
      ['orders/service.ts', ['../http/errors.ts', '@trpc/server', '../quotas/service.ts', '../database.ts']],
      ['quotas/service.ts', ['../orders/service.ts', 'hono/utils/http-status', '@dovetail/shared']],
      ['catalog/service.ts', ['../db/connect.ts', 'kysely', './tables.ts']],
      ['db/connect.ts', ['../catalog/tables.ts', '../database.ts', 'kysely']],
      ['inventory/lock.ts', ['../../../edge/src/db/open.ts']],
      ['testing/harness.ts', ['../http/root.ts', '../contract.ts']],
    ]);
    expect(layerViolations(graph)).toEqual([
      'catalog/ and db/ import each other (catalog/service.ts → db/, db/connect.ts → catalog/)',
      'db/connect.ts imports ../catalog/tables.ts: db/ is the bottom, it imports no feature and no root file',
      'db/connect.ts imports ../database.ts: db/ is the bottom, it imports no feature and no root file',
      'http/ and orders/ import each other (http/app.ts → orders/, orders/service.ts → http/)',
      'inventory/lock.ts imports ../../../edge/src/db/open.ts, outside hub/src: import a workspace by its package name',
      'orders/ and quotas/ import each other (orders/service.ts → quotas/, quotas/service.ts → orders/)',
      'orders/service.ts imports ../http/errors.ts: nothing below http/ imports http/',
      'orders/service.ts imports @trpc/server: only http/ (and the root files) speak HTTP or tRPC',
      'quotas/service.ts imports hono/utils/http-status: only http/ (and the root files) speak HTTP or tRPC',
      'testing/harness.ts imports ../http/root.ts: nothing below http/ imports http/',
    ]);
  });

  it('reads static, type-only, re-exported and dynamic imports, and skips comments and strings', () => {
    const { importedFiles } = ts.preProcessFile(
      [
        "import a from './a.ts';",
        "import type { B } from './b.ts';",
        "export { c } from './c.ts';",
        "export * from './d.ts';",
        "const e = await import('./e.ts');",
        "// import f from './f.ts';",
        'const g = "import g from \'./g.ts\'";',
      ].join('\n'),
      true,
      true,
    );
    expect(importedFiles.map((imported) => imported.fileName)).toEqual([
      './a.ts',
      './b.ts',
      './c.ts',
      './d.ts',
      './e.ts',
    ]);
  });
});
