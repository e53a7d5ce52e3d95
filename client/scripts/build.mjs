/**
 * `npm run build`: dist/index.js (TypeScript's transpiler: the source imports only types from the
 * hub) and dist/index.d.ts, one self-contained declaration file bundled by dts-bundle-generator with
 * the hub's and shared's types inlined, so a consumer needs neither their sources nor their
 * dependencies, only @trpc/client and @trpc/server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src/index.ts');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

const source = fs.readFileSync(entry, 'utf8');
const { outputText, diagnostics } = ts.transpileModule(source, {
  fileName: entry,
  reportDiagnostics: true,
  compilerOptions: {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    removeComments: false,
  },
});
if (diagnostics?.length) {
  console.error(ts.formatDiagnostics(diagnostics, ts.createCompilerHost({})));
  process.exit(1);
}
fs.writeFileSync(path.join(dist, 'index.js'), outputText);

const [declarations] = generateDtsBundle(
  [
    {
      filePath: entry,
      libraries: { inlinedLibraries: ['@dovetail/hub', '@dovetail/shared'] },
      output: { noBanner: true, exportReferencedTypes: false },
    },
  ],
  { preferredConfigPath: path.join(root, 'tsconfig.build.json'), followSymlinks: true },
);
// Procedures carry the hub's metadata type, which names trpc-to-openapi's OpenApiMeta: a client
// never reads it, so it becomes a local record instead of a dependency on the server's libraries.
const standalone = declarations.replace(
  /^import \{ OpenApiMeta \} from 'trpc-to-openapi';$/m,
  '/** The hub\'s per-procedure OpenAPI metadata (server-side; clients do not read it). */\ntype OpenApiMeta = Record<string, unknown>;',
);
const imported = [...standalone.matchAll(/^import .* from '([^']+)';$/gm)].map((match) => match[1]);
const foreign = imported.filter((name) => !name.startsWith('@trpc/'));
if (foreign.length > 0) {
  console.error(`dist/index.d.ts would import ${foreign.join(', ')}: a consumer has only @trpc/client and @trpc/server`);
  process.exit(1);
}
fs.writeFileSync(path.join(dist, 'index.d.ts'), standalone);
console.log(`built ${path.relative(process.cwd(), dist)}/index.js and index.d.ts (${standalone.length} characters)`);
