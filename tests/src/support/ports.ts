import net from 'node:net';

/**
 * A TCP port that was free a moment ago (the kernel picks it). Another process could take it before
 * the edge binds it; startEdgeProcess notices an early exit and retries on a fresh port.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no TCP address for a probe socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
