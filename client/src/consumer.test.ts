import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The built package as a storefront team gets it: dist/ and package.json copied into a temporary
 * project's node_modules, next to the two packages it depends on (@trpc/client, @trpc/server) and
 * nothing else — no hub or shared sources, no path mapping. A storefront script must compile under
 * a strict consumer tsconfig, with real types: wrong input is a compile error.
 */
const clientRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(clientRoot, '..');
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-storefront-'));
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

const storefront = `
import { createDovetailClient, type AppRouter, DovetailTokenError } from '@dovetail/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

export async function checkout(clientSecret: string): Promise<string> {
  const hub = createDovetailClient({ url: 'https://hub.example.com', clientId: 'storefront', clientSecret });
  const page = await hub.catalog.list.query({ category: 'sofa' });
  const first = page.items[0];
  const name: string = first === undefined ? 'none' : first.name;
  const request: Inputs['holds']['reserve'] = { lines: [{ sku: 'SOFA-OSLO-3S-GREY', quantity: 1 }] };
  const hold: Outputs['holds']['reserve'] = await hub.holds.reserve.mutate(request);
  const token: string = await hub.accessToken();
  return \`\${name} \${hold.id} \${token.length}\`;
}

export function refused(error: unknown): number | undefined {
  return error instanceof DovetailTokenError ? error.status : undefined;
}

export async function typed(hub: ReturnType<typeof createDovetailClient>): Promise<void> {
  // @ts-expect-error a quantity is a number
  await hub.holds.reserve.mutate({ lines: [{ sku: 'X', quantity: 'one' }] });
  // @ts-expect-error there is no such procedure
  await hub.catalog.nothingHere.query();
}
`;

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ESNext', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noEmit: true,
    skipLibCheck: false,
    types: [],
  },
  files: ['storefront.ts'],
};

describe('the built package in a storefront project', () => {
  it('ships dist/index.js and a self-contained dist/index.d.ts', () => {
    const declarations = fs.readFileSync(path.join(clientRoot, 'dist/index.d.ts'), 'utf8');
    const imported = [...declarations.matchAll(/from ['"]([^'"]+)['"]/g)].map((match) => match[1]);
    expect(new Set(imported)).toEqual(new Set(['@trpc/client', '@trpc/server']));
    expect(declarations).not.toMatch(/@dovetail\/(hub|shared)|\.ts['"]/);
    expect(declarations).toContain('createDovetailClient');
  });

  it('compiles a storefront script under strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess', () => {
    const modules = path.join(project, 'node_modules');
    const packageDir = path.join(modules, '@dovetail/client');
    fs.mkdirSync(packageDir, { recursive: true });
    fs.cpSync(path.join(clientRoot, 'dist'), path.join(packageDir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(clientRoot, 'package.json'), path.join(packageDir, 'package.json'));
    fs.mkdirSync(path.join(modules, '@trpc'), { recursive: true });
    for (const name of ['client', 'server']) {
      fs.symlinkSync(
        fs.realpathSync(path.join(repoRoot, 'node_modules/@trpc', name)),
        path.join(modules, '@trpc', name),
      );
    }
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'storefront', type: 'module' }));
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    fs.writeFileSync(path.join(project, 'storefront.ts'), storefront);
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      output = execFileSync(process.execPath, [tsc, '-p', project], {
        cwd: project,
        encoding: 'utf8',
        timeout: 150_000,
      });
    } catch (error) {
      output = `${(error as { stdout?: string }).stdout ?? ''}${(error as Error).message}`;
    }
    expect(output).toBe('');
  });
});
