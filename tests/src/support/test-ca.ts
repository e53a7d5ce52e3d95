import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

export type TestCa = {
  /** The CA's certificate (PEM), to trust. */
  ca: Buffer;
  caFile: string;
  /** A server certificate for 127.0.0.1 and localhost signed by the CA, and its key. */
  certFile: string;
  keyFile: string;
};

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(new Error('the TLS tests need the openssl command line tool on PATH (apt-get install openssl)'));
      reject(new Error(`openssl ${args[0]} failed: ${stderr || error.message}`));
    });
  });
}

/**
 * A certificate authority made for one test run with the `openssl` CLI (node:crypto cannot sign
 * X.509), P-256 keys, and a server certificate for 127.0.0.1/localhost it signed.
 */
export async function createTestCa(dir: string, name = 'test'): Promise<TestCa> {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      `/CN=${name} CA`,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
    ],
    dir,
  );
  await openssl(
    ['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`],
    dir,
  );
  fs.writeFileSync(path.join(dir, `${name}-server.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}-server.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}-server.ext`,
      '-out',
      `${name}-server.pem`,
    ],
    dir,
  );
  const caFile = path.join(dir, `${name}-ca.pem`);
  return {
    ca: fs.readFileSync(caFile),
    caFile,
    certFile: path.join(dir, `${name}-server.pem`),
    keyFile: path.join(dir, `${name}-server.key`),
  };
}

export type HttpsAnswer<T> = { status: number; headers: Record<string, string | string[] | undefined>; body: T };

/** One request over HTTPS trusting `ca` only; a JSON body is sent and parsed. Bounded in time. */
export function httpsJson<T = unknown>(
  url: string,
  ca: Buffer,
  options: { method?: string; token?: string; body?: object | string; contentType?: string } = {},
): Promise<HttpsAnswer<T>> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca,
        timeout: 15_000,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (response.headers['content-type'] ?? '').includes('json');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: (json && text ? JSON.parse(text) : text) as T,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within 15 s`)));
    request.on('error', reject);
    request.end(payload);
  });
}
