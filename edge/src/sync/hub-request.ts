import http from 'node:http';
import https from 'node:https';

/** The hub's token answer is small; anything longer is refused rather than buffered. */
const answerBytesMax = 64 * 1024;

/** OpenSSL's codes for a peer certificate that does not verify (node:tls errors carry them as `code`). */
const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A TLS verification failure as a sentence naming the cause and the fix (`--hub-ca`); undefined for
 * any other error. The edge never falls back to an unverified connection.
 */
export function certificateProblem(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined || !certificateCodes.has(code)) return undefined;
  return `the hub's TLS certificate is not trusted (${code}: ${error.message}): give the CA that signed it with --hub-ca FILE`;
}

/** The hub's certificate did not verify: a configuration error (wrong or missing `--hub-ca`), not a flaky link. */
export class HubCertificateError extends Error {
  override name = 'HubCertificateError';
}

export type FormAnswer = { status: number; retryAfter: string | null; body: unknown };

/**
 * POSTs a form to the hub over http or https, verifying an https hub against `ca` when given (the
 * default trusted roots otherwise). Used for the edge's token request, so it and the sync WebSocket
 * trust the same CA.
 */
export function postForm(
  url: URL,
  form: URLSearchParams,
  options: { ca?: Buffer | undefined; timeoutMs: number },
): Promise<FormAnswer> {
  const payload = Buffer.from(form.toString(), 'utf8');
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<FormAnswer>((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(payload.length),
          accept: 'application/json',
        },
        timeout: options.timeoutMs,
        // A connection of its own: token requests are an hour apart, and a pooled keep-alive socket
        // the hub is closing just then fails the request with "socket hang up".
        agent: false,
        ...(url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > answerBytesMax) {
            request.destroy(new Error(`the hub's token answer is larger than ${answerBytesMax} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          let body: unknown = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = {};
          }
          const retryAfter = response.headers['retry-after'];
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            body,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`the hub did not answer within ${options.timeoutMs} ms`)));
    request.on('error', (error) => {
      const problem = certificateProblem(error);
      reject(problem ? new HubCertificateError(problem) : error);
    });
    request.end(payload);
  });
}
