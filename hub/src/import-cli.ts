import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * `npm run hub -- import FILE [--hub URL] [--client-id ID] [--client-secret S] [--mode all|valid]`:
 * sends a catalog CSV (the export's columns, docs/catalog.md) to a running hub as a job and draws
 * its progress until it finishes, then prints the report: errors by line, or what was written.
 * Credentials come from the flags or HUB_URL, HUB_CLIENT_ID, HUB_CLIENT_SECRET (an admin client).
 * Exits 0 when the import was written, 1 when it was refused, 2 on bad usage.
 */
export async function runImportCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hub: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      mode: { type: 'string' },
    },
  });
  const file = positionals[0];
  const hub = (values.hub ?? env.HUB_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
  const clientId = values['client-id'] ?? env.HUB_CLIENT_ID ?? 'admin';
  const clientSecret = values['client-secret'] ?? env.HUB_CLIENT_SECRET;
  const mode = values.mode ?? 'all';
  if (!file || !clientSecret || (mode !== 'all' && mode !== 'valid')) {
    process.stderr.write(
      'usage: npm run hub -- import FILE [--hub URL] [--client-id ID] --client-secret S [--mode all|valid]\n',
    );
    return 2;
  }
  const csv = readFileSync(file, 'utf8');
  const tokenResponse = await fetch(`${hub}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (!tokenResponse.ok) {
    process.stderr.write(`sign-in refused (${tokenResponse.status}): check the client id and secret\n`);
    return 1;
  }
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${token}` };
  const started = await fetch(`${hub}/api/v1/catalog/import?async=true&mode=${mode}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/csv' },
    body: csv,
  });
  let job = (await started.json()) as {
    id?: string;
    status?: string;
    done?: number;
    total?: number;
    result?: unknown;
    error?: unknown;
  };
  if (started.status !== 202 || !job.id) {
    process.stderr.write(`import refused (${started.status}): ${JSON.stringify(job)}\n`);
    return 1;
  }
  while (job.status === 'running') {
    drawProgress(job.done ?? 0, job.total ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = (await (await fetch(`${hub}/api/v1/jobs/${job.id}`, { headers })).json()) as typeof job;
  }
  drawProgress(job.done ?? 0, job.total ?? 0);
  process.stderr.write('\n');
  if (job.status === 'succeeded') {
    process.stdout.write(`${JSON.stringify(job.result, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${JSON.stringify(job.error, null, 2)}\n`);
  return 1;
}

function drawProgress(done: number, total: number): void {
  const width = 30;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} products`;
  process.stderr.write(process.stderr.isTTY ? `\r${bar}` : `${bar}\n`);
}
