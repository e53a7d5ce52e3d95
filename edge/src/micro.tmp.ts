import { startTestEdge } from './test-support/node.ts';
const edge = await startTestEdge();
for (const batch of [37, 256]) {
  const rounds = Math.max(20, Math.floor(8000 / batch));
  const t = performance.now();
  for (let r = 0; r < rounds; r++) {
    const ps = [];
    for (let i = 0; i < batch; i++)
      ps.push(edge.writer.submit({ command: { type: 'receive', sku: `S-${i % 8}`, quantity: 1 }, actor: 'lead' }));
    await Promise.all(ps);
  }
  const ms = performance.now() - t;
  console.log(
    `batch ${batch}: ${(ms / rounds).toFixed(2)} ms/batch, ${((ms * 1000) / (rounds * batch)).toFixed(1)} µs/scan`,
  );
}
await edge.close();
