import fs from 'node:fs';
import tls from 'node:tls';

/** A PEM certificate chain and its private key, read and checked to belong together. */
export type TlsMaterial = { cert: Buffer; key: Buffer };

/**
 * Reads `--tls-cert` and `--tls-key` at start-up and checks them with OpenSSL (a key that does not
 * match the certificate, or a file that is no PEM, stops the server with a message naming the flag).
 */
export function loadTlsMaterial(files: { certFile: string; keyFile: string }): TlsMaterial {
  const read = (file: string, flag: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new Error(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const material = { cert: read(files.certFile, '--tls-cert'), key: read(files.keyFile, '--tls-key') };
  try {
    tls.createSecureContext(material);
  } catch (error) {
    throw new Error(
      `--tls-cert ${files.certFile} with --tls-key ${files.keyFile}: ${(error as Error).message} (give a PEM certificate chain and its private key)`,
    );
  }
  return material;
}
