import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAuditChain } from './audit/service.ts';
import type { Database } from './database.ts';
import { openStorage, type StorageConfig, sqliteConfigFor } from './db/connect.ts';

const usage = `usage: npm run hub -- audit verify [--data DIR]
  with DATABASE_URL (and DATABASE_SCHEMA): the PostgreSQL hub instead of DIR's SQLite file.
  Recomputes the audit chain; exits 0 when intact, 1 naming the first broken link, 2 on bad usage.`;

/**
 * `npm run hub -- audit verify --data DIR`: recomputes the audit trail's hash chain
 * (docs/operations.md, "Audit trail") and says whether it is intact. Returns the exit code.
 */
export async function runAuditCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  let values: { data?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    err(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help || positionals.length !== 1 || positionals[0] !== 'verify') {
    err(usage);
    return values.help ? 0 : 2;
  }
  let config: StorageConfig;
  const databaseUrl = env['DATABASE_URL'];
  if (databaseUrl) {
    const schema = env['DATABASE_SCHEMA'] || undefined;
    config = { kind: 'postgres', url: databaseUrl, poolSize: 1, ...(schema ? { schema } : {}) };
  } else {
    const directory = path.resolve(
      env['INIT_CWD'] ?? process.cwd(),
      values.data ?? env['HUB_DATA_DIR'] ?? './hub-data',
    );
    if (!existsSync(path.join(directory, 'hub.db'))) {
      err(`no hub database in ${directory}`);
      return 2;
    }
    config = sqliteConfigFor(directory);
  }
  const storage = await openStorage<Database>(config);
  try {
    const report = await verifyAuditChain(storage.db);
    if (report.ok) {
      out(
        `audit chain intact: ${report.rows} entries${report.rows > 0 ? `, head seq ${report.headSeq} hash ${report.headHash}` : ''} (${storage.description})`,
      );
      return 0;
    }
    out(`audit chain BROKEN at seq ${report.brokenSeq}: ${report.reason} (${report.rows} entries verified before it)`);
    return 1;
  } finally {
    await storage.close();
  }
}
