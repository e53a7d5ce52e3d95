import { createHmac } from 'node:crypto';
import { limits } from '@dovetail/shared';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, startTestHub } from '../testing/harness.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';
import { defaultWebhookSettings, type WebhookSettings } from '../webhooks/settings.ts';

/**
 * The "Webhooks" lines of the security checklist (docs/security-checklist.md), one test per line,
 * against a hub in-process delivering to real HTTP receivers on loopback (the hub's webhook guard
 * lets loopback through for them: `allowPrivate`).
 */
const hubs: TestHub[] = [];
const receivers: TestReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  for (const hub of hubs.splice(0)) await hub.dispose();
});

async function hubWith(webhooks: Partial<WebhookSettings>, nowMs?: () => number): Promise<TestHub> {
  const hub = await startTestHub('sqlite', {
    webhooks: { allowPrivate: true, pollIntervalMs: 20, ...webhooks },
    ...(nowMs ? { nowMs } : {}),
  });
  hubs.push(hub);
  return hub;
}
async function receiver(): Promise<TestReceiver> {
  const started = await new TestReceiver().start();
  receivers.push(started);
  return started;
}
async function endpoint(hub: TestHub, token: string, url: string, events: string[]) {
  const created = await call(hub, 'POST', '/api/v1/webhooks', { token, body: { url, events } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; secret: string };
}
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
/** The endpoint's deliveries as stored (the API's token would expire while the test moves the clock on). */
const deliveriesOf = (hub: TestHub, endpointId: string) =>
  hub.storage.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .orderBy('created_at')
    .execute();
const attemptsOf = (hub: TestHub, deliveryId: string) =>
  hub.storage.db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempt')
    .execute();
const ping = async (hub: TestHub, token: string, endpointId: string) => {
  const sent = await call(hub, 'POST', `/api/v1/webhooks/${endpointId}/test`, { token, body: {} });
  expect(sent.status).toBe(202);
  return sent.body as { eventId: string; deliveryId: string };
};

describe('security checklist: webhooks', () => {
  it('Webhooks: headers `webhook-id`, `webhook-timestamp` (unix seconds), `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`; secrets `whsec_` + base64 of ≥ 24 random bytes, one per endpoint', async () => {
    const hub = await hubWith({ retryScheduleMs: [0] });
    const admin = await adminToken(hub);
    const target = await receiver();
    const other = await receiver();
    const first = await endpoint(hub, admin, target.url(), ['order.created']);
    const second = await endpoint(hub, admin, other.url(), ['order.created']);
    const keyOf = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
    for (const { secret } of [first, second]) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
      expect(keyOf(secret).length).toBeGreaterThanOrEqual(24);
    }
    expect(keyOf(first.secret).equals(keyOf(second.secret))).toBe(false);
    // Shown once: the endpoint's views never carry it.
    for (const path of [`/api/v1/webhooks/${first.id}`, '/api/v1/webhooks'])
      expect(JSON.stringify((await call(hub, 'GET', path, { token: admin })).body)).not.toContain(
        first.secret.slice(6),
      );

    const sent = await ping(hub, admin, first.id);
    await target.waitFor((received) => received.length === 1);
    const [request] = target.received;
    expect(request?.id).toBe(sent.deliveryId);
    expect(request?.id).toMatch(/^msg_[A-Za-z0-9]+$/);
    expect(request?.timestamp).toMatch(/^[0-9]{10}$/);
    expect(Math.abs(Number(request?.timestamp) - Date.now() / 1000)).toBeLessThan(300);
    const signatures = request?.signature.split(' ') ?? [];
    expect(signatures).toHaveLength(1);
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    // The HMAC recomputed by hand over exactly "{id}.{timestamp}.{raw body}" with the endpoint's key.
    const signed = `${request?.id}.${request?.timestamp}.${request?.body}`;
    const expected = (secret: string) => `v1,${createHmac('sha256', keyOf(secret)).update(signed).digest('base64')}`;
    expect(signatures).toEqual([expected(first.secret)]);
    expect(signatures).not.toContain(expected(second.secret));
    expect(Buffer.from(signatures[0]!.slice(3), 'base64')).toHaveLength(32);
    expect(other.received).toHaveLength(0);
  });

  it('Webhooks: verified in tests with the `standardwebhooks` library as a real consumer would. Retries keep the same `webhook-id` with a fresh timestamp and signature; during secret rotation both signatures are sent', async () => {
    let aheadMs = 0;
    const hub = await hubWith({ retryScheduleMs: defaultWebhookSettings.retryScheduleMs }, () => Date.now() + aheadMs);
    const admin = await adminToken(hub);
    const target = await receiver();
    const created = await endpoint(hub, admin, target.url(), ['order.created']);
    target.secrets = [created.secret];
    target.answer = (_request, nth) => (nth === 0 ? { status: 500 } : { status: 200 });
    await ping(hub, admin, created.id);
    await target.waitFor((received) => received.length === 1);
    // The retry is due 5 s later (the schedule): the hub's clock is moved on past it.
    await until(async () => (await deliveriesOf(hub, created.id))[0]?.attempts === 1, 'first attempt recorded');
    aheadMs += 6_000;
    await target.waitFor((received) => received.length === 2);
    const [first, retry] = target.received;
    expect(first?.verifiedWith).toEqual([true]);
    expect(retry?.verifiedWith).toEqual([true]);
    expect(retry?.id).toBe(first?.id);
    expect(retry?.body).toBe(first?.body);
    expect(Number(retry?.timestamp) - Number(first?.timestamp)).toBeGreaterThanOrEqual(5);
    expect(retry?.signature).not.toBe(first?.signature);
    // What a consumer's library refuses: a changed body, another id, a replayed old timestamp.
    const consumer = new Webhook(created.secret);
    const headers = {
      'webhook-id': first!.id,
      'webhook-timestamp': first!.timestamp,
      'webhook-signature': first!.signature,
    };
    expect(consumer.verify(first!.body, headers)).toMatchObject({ type: 'ping' });
    expect(() => consumer.verify(first!.body.replace('ping', 'pong'), headers)).toThrow();
    expect(() => consumer.verify(first!.body, { ...headers, 'webhook-id': 'msg_other' })).toThrow();
    expect(() => new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(first!.body, headers)).toThrow();
    const stale = { ...headers, 'webhook-timestamp': String(Number(first!.timestamp) - 600) };
    expect(() => consumer.verify(first!.body, stale)).toThrow();

    // Rotation: while the old secret is still honoured, each request carries both signatures and
    // each verifies on its own; a consumer holding either secret accepts it.
    const rotated = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/rotate-secret`, { token: admin, body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.secret);
    target.secrets = [created.secret, rotated.body.secret, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
    await ping(hub, admin, created.id);
    await target.waitFor((received) => received.length === 3);
    const during = target.received[2]!;
    expect(during.signature.split(' ')).toHaveLength(2);
    expect(during.verifiedWith).toEqual([true, true, false]);
    const duringHeaders = {
      'webhook-id': during.id,
      'webhook-timestamp': during.timestamp,
      'webhook-signature': during.signature,
    };
    expect(new Webhook(created.secret).verify(during.body, duringHeaders)).toMatchObject({ type: 'ping' });
    expect(new Webhook(rotated.body.secret).verify(during.body, duringHeaders)).toMatchObject({ type: 'ping' });
  });

  it('Webhooks: schedule (Svix): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter; 410 disables the endpoint; 429/503 honour Retry-After; 3xx not followed; exhausted → dead letter + `message.attempt.exhausted`-style event; manual replay keeps the id; endpoint disabled after sustained failure', async () => {
    const minute = 60_000;
    const hour = 60 * minute;
    const svix = [0, 5_000, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 10 * hour];
    expect([...limits.webhookRetryScheduleMs]).toEqual(svix);
    expect([...defaultWebhookSettings.retryScheduleMs]).toEqual(svix);
    let aheadMs = 0;
    const now = () => Date.now() + aheadMs;
    const hub = await hubWith({ retryScheduleMs: defaultWebhookSettings.retryScheduleMs }, now);
    let admin = await adminToken(hub);
    const failing = await receiver();
    failing.answer = () => ({ status: 500 });
    const created = await endpoint(hub, admin, failing.url(), ['order.created']);
    const deadLetters = await receiver();
    const watching = await endpoint(hub, admin, deadLetters.url(), ['delivery.exhausted']);
    deadLetters.secrets = [watching.secret];
    const { deliveryId, eventId } = await ping(hub, admin, created.id);

    // The schedule as the worker applies it: after attempt n the next is due schedule[n] ± 10% later.
    const delays: number[] = [];
    for (let attempt = 1; attempt <= svix.length; attempt++) {
      await until(async () => (await deliveriesOf(hub, created.id))[0]?.attempts === attempt, `attempt ${attempt}`);
      const [row] = await deliveriesOf(hub, created.id);
      if (attempt === svix.length) {
        expect(row?.status).toBe('failed');
        break;
      }
      expect(row?.status).toBe('pending');
      const recordedAt = Number(row?.last_attempt_at);
      const delay = Number(row?.next_attempt_at) - recordedAt;
      delays.push(delay);
      const step = svix[attempt]!;
      expect(delay, `after attempt ${attempt}`).toBeGreaterThanOrEqual(
        step * (1 - limits.webhookRetryJitterFraction) - 1,
      );
      expect(delay, `after attempt ${attempt}`).toBeLessThanOrEqual(
        step * (1 + limits.webhookRetryJitterFraction) + 1_000,
      );
      aheadMs += Number(row?.next_attempt_at) - now() + 1;
    }
    // Jitter: the delays are not the bare schedule.
    expect(delays.filter((delay, index) => Math.abs(delay - svix[index + 1]!) > 5)).not.toHaveLength(0);
    expect(new Set(failing.received.map((entry) => entry.id))).toEqual(new Set([deliveryId]));
    expect(failing.received).toHaveLength(svix.length);
    await deadLetters.waitFor((received) => received.length === 1);
    // Signed like every event (by hand: its timestamp is on the hub's moved clock, past a library's tolerance).
    const letter = deadLetters.received[0]!;
    const key = Buffer.from(watching.secret.slice('whsec_'.length), 'base64');
    expect(letter.signature).toBe(
      `v1,${createHmac('sha256', key).update(`${letter.id}.${letter.timestamp}.${letter.body}`).digest('base64')}`,
    );
    expect(deadLetters.received[0]).toMatchObject({
      type: 'delivery.exhausted',
      data: {
        deliveryId,
        endpointId: created.id,
        eventId,
        eventType: 'ping',
        attempts: svix.length,
        lastStatusCode: 500,
      },
    });

    // Exhausted: a dead letter, listed as failed with every attempt, and replayable with its id.
    admin = await adminToken(hub);
    const dead = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries?status=failed`, { token: admin });
    expect(dead.body.items).toHaveLength(1);
    expect(dead.body.items[0]).toMatchObject({ id: deliveryId, status: 'failed', attempts: svix.length });
    expect(dead.body.items[0].attemptLog).toHaveLength(svix.length);
    failing.answer = () => ({ status: 200 });
    const replay = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/deliveries/${deliveryId}/retry`, {
      token: admin,
      body: {},
    });
    expect(replay.status).toBe(202);
    await failing.waitFor((received) => received.length === svix.length + 1);
    expect(failing.received.at(-1)?.id).toBe(deliveryId);
    await until(async () => (await deliveriesOf(hub, created.id))[0]?.status === 'succeeded', 'the replay succeeds');

    // 429 and 503 with Retry-After: the next attempt waits that long, though the schedule says 5 s.
    for (const [status, seconds] of [
      [429, 120],
      [503, 3_600],
    ] as const) {
      const limited = await receiver();
      limited.answer = () => ({ status, headers: { 'retry-after': String(seconds) } });
      const target = await endpoint(hub, admin, limited.url(), ['order.created']);
      await ping(hub, admin, target.id);
      await until(async () => (await deliveriesOf(hub, target.id))[0]?.attempts === 1, `${status} answered`);
      const [row] = await deliveriesOf(hub, target.id);
      expect(Number(row?.next_attempt_at) - Number(row?.last_attempt_at), String(status)).toBeGreaterThanOrEqual(
        seconds * 1000,
      );
    }

    // 3xx: a failed attempt, the Location never called.
    const elsewhere = await receiver();
    const redirecting = await receiver();
    redirecting.answer = () => ({ status: 301, headers: { location: elsewhere.url() } });
    const moved = await endpoint(hub, admin, redirecting.url(), ['order.created']);
    await ping(hub, admin, moved.id);
    await until(async () => (await deliveriesOf(hub, moved.id))[0]?.attempts === 1, '301 answered');
    const [redirected] = await deliveriesOf(hub, moved.id);
    expect(redirected?.last_error).toMatch(/redirect \(301\) not followed/);
    expect(elsewhere.received).toHaveLength(0);

    // 410 Gone: the delivery ends and the endpoint is disabled; nothing more is sent to it.
    const gone = await receiver();
    gone.answer = () => ({ status: 410 });
    const goneEndpoint = await endpoint(hub, admin, gone.url(), ['order.created']);
    await ping(hub, admin, goneEndpoint.id);
    await until(async () => (await deliveriesOf(hub, goneEndpoint.id))[0]?.status === 'failed', '410 answered');
    const goneView = await call(hub, 'GET', `/api/v1/webhooks/${goneEndpoint.id}`, { token: admin });
    expect(goneView.body).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect(gone.received).toHaveLength(1);
    expect(
      (await call(hub, 'POST', `/api/v1/webhooks/${goneEndpoint.id}/test`, { token: admin, body: {} })).status,
    ).toBe(409);

    // Sustained failure: an endpoint whose every attempt failed for longer than the threshold is
    // disabled, and admin endpoints are told (endpoint.disabled).
    const sustained = await hubWith({ retryScheduleMs: Array(12).fill(100), disableAfterMs: 400 });
    const sustainedAdmin = await adminToken(sustained);
    const down = await receiver();
    const ops = await receiver();
    down.answer = () => ({ status: 500 });
    const watcher = await endpoint(sustained, sustainedAdmin, ops.url(), ['endpoint.disabled']);
    ops.secrets = [watcher.secret];
    const downEndpoint = await endpoint(sustained, sustainedAdmin, down.url(), ['order.created']);
    await ping(sustained, sustainedAdmin, downEndpoint.id);
    await ops.waitFor((received) => received.length === 1);
    expect(ops.received[0]?.verifiedWith).toEqual([true]);
    expect(ops.received[0]).toMatchObject({
      type: 'endpoint.disabled',
      data: { endpointId: downEndpoint.id, reason: 'failing' },
    });
    expect(
      (await call(sustained, 'GET', `/api/v1/webhooks/${downEndpoint.id}`, { token: sustainedAdmin })).body,
    ).toMatchObject({ enabled: false, disabledReason: 'failing' });
    expect(await attemptsOf(sustained, (await deliveriesOf(sustained, downEndpoint.id))[0]!.id)).not.toHaveLength(0);
  });
});
