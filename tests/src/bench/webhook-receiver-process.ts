import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The bench's partner: a webhook receiver in a process of its own (so the hub's fsyncs do not stall
 * it), answering 200 at once. It prints its port, then one line `<receivedAtMs> <sku>` per request.
 */
const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const receivedAtMs = Date.now();
    response.writeHead(200).end();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { sku?: string } };
      process.stdout.write(`${receivedAtMs} ${body.data?.sku ?? '-'} ${request.headers['webhook-id']}\n`);
    } catch {
      process.stdout.write(`${receivedAtMs} - -\n`);
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
