import { describe, expect, it } from 'vitest';
import { adminToken, call, startSecondInstance, startTestHub } from '../testing/harness.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';
import { emitWebhookEvent } from './emit.ts';

/**
 * Two hub instances on one PostgreSQL schema, both running a delivery worker woken by LISTEN/NOTIFY:
 * every delivery reaches its endpoint, and no delivery is ever sent by both at once (the receiver
 * counts requests in flight per webhook-id). The suite always has a real server (scripts/vitest-postgres.ts).
 */
describe('webhook delivery with two hub instances on one PostgreSQL database', () => {
  it('delivers every event, each attempt claimed by one instance, none sent twice at once', async () => {
    const settings = { allowPrivate: true, retryScheduleMs: [0, 100, 100, 100, 100], pollIntervalMs: 50 };
    const first = await startTestHub('postgres', { webhooks: settings });
    const second = await startSecondInstance(first, { webhooks: settings });
    const receivers = [await new TestReceiver().start(), await new TestReceiver().start()];
    try {
      const token = await adminToken(first);
      for (const receiver of receivers) {
        const created = await call(first, 'POST', '/api/v1/webhooks', {
          token,
          body: { url: receiver.url(), events: ['inventory.low'] },
        });
        expect(created.status).toBe(201);
        receiver.secrets = [created.body.secret];
        // Slow answers widen the window in which a second sender could slip in; every fifth
        // delivery fails once, so retries are claimed again too.
        receiver.answer = (request, nth) =>
          nth === 0 && request.id.charCodeAt(request.id.length - 1) % 5 === 0
            ? { status: 500 }
            : { status: 200, delayMs: 20 };
      }
      const events = 200;
      await Promise.all(
        Array.from({ length: events }, (_, n) =>
          emitWebhookEvent((n % 2 === 0 ? first : second).storage.db, {
            type: 'inventory.low',
            data: {
              warehouseId: 'W1',
              sku: `SKU-${n}`,
              available: 0,
              safetyStock: 1,
              occurredAt: new Date().toISOString(),
            },
            warehouseId: 'W1',
            nowMs: Date.now(),
          }),
        ),
      );
      const deliveries = await first.storage.db.selectFrom('webhook_deliveries').select('id').execute();
      expect(deliveries).toHaveLength(events * 2);
      const expected = new Set(deliveries.map((row) => row.id));
      for (const receiver of receivers) {
        await receiver.waitFor(
          (received) =>
            received.filter((entry) => entry.verifiedWith[0]).map((entry) => entry.id).length > 0 &&
            new Set(received.map((entry) => entry.id)).size === events,
          60_000,
        );
      }
      const succeeded = async () =>
        Number(
          (
            await first.storage.db
              .selectFrom('webhook_deliveries')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('status', '=', 'succeeded')
              .executeTakeFirstOrThrow()
          ).n,
        );
      for (let i = 0; i < 200 && (await succeeded()) < events * 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await succeeded()).toBe(events * 2);
      for (const receiver of receivers) {
        expect(receiver.maxInFlightPerId).toBe(1);
        expect(receiver.received.every((entry) => entry.verifiedWith[0])).toBe(true);
        for (const entry of receiver.received) expect(expected.has(entry.id)).toBe(true);
        // Each webhook-id once, plus exactly one more for those answered 500 the first time.
        const counts = new Map<string, number>();
        for (const entry of receiver.received) counts.set(entry.id, (counts.get(entry.id) ?? 0) + 1);
        for (const [id, count] of counts) {
          expect(count, id).toBe(id.charCodeAt(id.length - 1) % 5 === 0 ? 2 : 1);
        }
      }
    } finally {
      await Promise.all(receivers.map((receiver) => receiver.close()));
      await second.close();
      await first.dispose();
    }
  }, 120_000);
});
