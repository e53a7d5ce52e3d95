import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * `shared/` is the pure bottom of the monorepo (docs/architecture.md): schemas, domain rules,
 * the protocol, limits and policy, run alike by the edge, the hub and the simulation. It does no
 * I/O of its own, so none of its modules (tests aside) may import a library that does.
 */
const ioLibraries = [
  /^(node:)?(fs|net|http|https|http2|tls|dgram|child_process|worker_threads)(\/|$)/,
  /^(better-sqlite3|pg|@electric-sql\/pglite|kysely|hono|ws|pino|prom-client)(\/|$)/,
  /^@(trpc|hono)\//,
];

function ioImports(root: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.test\.ts$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (ioLibraries.some((library) => library.test(fileName))) {
        found.push(`${path.relative(root, file).split(path.sep).join('/')} imports ${fileName}`);
      }
    }
  }
  return found.sort();
}

describe('shared/ does no I/O', () => {
  it('imports no file system, network, database, HTTP or logging library outside its tests', () => {
    expect(ioImports(path.dirname(fileURLToPath(import.meta.url)))).toEqual([]);
  });

  it('tells an I/O library from a pure one', () => {
    const io = ['node:fs', 'fs/promises', 'node:net', 'node:http', 'better-sqlite3', 'pg', 'hono/cors', '@trpc/server'];
    const pure = ['zod', 'uuid', 'node:crypto', 'pgsql-ast-parser', 'wsx', '@dovetail/shared', './limits.ts'];
    const isIo = (name: string) => ioLibraries.some((library) => library.test(name));
    expect([...io, 'ws', 'kysely', 'pino', '@hono/node-server'].filter(isIo)).toHaveLength(io.length + 4);
    expect(pure.filter(isIo)).toEqual([]);
  });
});
