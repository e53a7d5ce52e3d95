import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';

/** A PEM certificate chain and its private key, read and checked to belong together. */
export type TlsMaterial = { cert: Buffer; key: Buffer };

function readFlagFile(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * Reads `--tls-cert` and `--tls-key` at start-up and checks them with OpenSSL: a key that does not
 * match the certificate, or a file that is no PEM, stops the edge with a message naming the flag.
 */
export function loadTlsMaterial(files: { certFile: string; keyFile: string }): TlsMaterial {
  const material = { cert: readFlagFile(files.certFile, '--tls-cert'), key: readFlagFile(files.keyFile, '--tls-key') };
  try {
    tls.createSecureContext(material);
  } catch (error) {
    throw new Error(
      `--tls-cert ${files.certFile} with --tls-key ${files.keyFile}: ${(error as Error).message} (give a PEM certificate chain and its private key)`,
    );
  }
  return material;
}

/** `--hub-ca FILE`: PEM CA certificate(s) the hub's certificate must chain to; refused unless it holds one. */
export function loadHubCa(file: string): Buffer {
  const pem = readFlagFile(file, '--hub-ca');
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new Error(`--hub-ca ${file}: not a PEM certificate (${(error as Error).message})`);
  }
  return pem;
}
