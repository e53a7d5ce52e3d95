import { limits } from '@dovetail/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimIdempotencyKey, requestFingerprint } from '../idempotency/store.ts';
import { type TestHub, adminToken, call, sofa, startTestHub } from '../testing/harness.ts';

/** Idempotency-Key on REST creates (IETF draft, Stripe semantics), per client. */
describe('Idempotency-Key', () => {
  let hub: TestHub;
  let admin: string;
  let clockMs = Date.now();

  const create = (key: string, body: unknown, token = admin) =>
    call(hub, 'POST', '/api/v1/products', { token, body, headers: { 'idempotency-key': key } });
  const countNamed = async (name: string) =>
    (await hub.storage.db.selectFrom('products').select('id').where('name', '=', name).execute()).length;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { nowMs: () => clockMs });
    admin = await adminToken(hub);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('replays the first response for the same key and body, with one effect', async () => {
    const body = { ...sofa('IDEM-1'), name: 'Idempotent sofa' };
    const first = await create('key-1', body);
    const second = await create('key-1', body);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await countNamed('Idempotent sofa')).toBe(1);
  });

  it('refuses the same key with a different body: 422', async () => {
    await create('key-2', { ...sofa('IDEM-2'), name: 'First body' });
    const other = await create('key-2', { ...sofa('IDEM-2B'), name: 'Second body' });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect(await countNamed('Second body')).toBe(0);
  });

  it('answers 409 while the first request with the key is in flight', async () => {
    const body = sofa('IDEM-3');
    const fingerprint = requestFingerprint('POST', '/products', JSON.stringify(body));
    expect(await claimIdempotencyKey(hub.deps.db, 'client:admin', 'key-3', fingerprint, clockMs)).toEqual({
      kind: 'claimed',
    });
    const concurrent = await create('key-3', body);
    expect(concurrent.status).toBe(409);
    expect(concurrent.body.error.code).toBe('idempotency_key_in_flight');
  });

  it('refuses malformed and over-long keys: 400', async () => {
    expect((await create('', sofa('IDEM-4'))).status).toBe(400);
    expect((await create('has space', sofa('IDEM-4'))).status).toBe(400);
    const long = await create('k'.repeat(limits.idempotencyKeyLengthMax + 1), sofa('IDEM-4'));
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('invalid_idempotency_key');
  });

  it('does not remember a request that failed validation', async () => {
    const invalid = await create('key-5', { ...sofa('IDEM-5'), basePrice: -1 });
    expect(invalid.status).toBe(400);
    const valid = await create('key-5', { ...sofa('IDEM-5'), name: 'After a bad first try' });
    expect(valid.status).toBe(201);
  });

  it('keeps a business refusal: the replay is the same 409', async () => {
    await create('key-6a', sofa('IDEM-6'));
    const refused = await create('key-6', sofa('IDEM-6'));
    expect(refused.status).toBe(409);
    const replay = await create('key-6', sofa('IDEM-6'));
    expect(replay.status).toBe(409);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('scopes keys per client and forgets them after the retention period', async () => {
    const created = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'Other admin', role: 'admin' },
    });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: created.body.clientId,
      client_secret: created.body.clientSecret,
    });
    const response = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const other = ((await response.json()) as { access_token: string }).access_token;
    const mine = await create('shared-key', { ...sofa('IDEM-7'), name: 'Mine' });
    const theirs = await create('shared-key', { ...sofa('IDEM-7B'), name: 'Theirs' }, other);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    clockMs += (limits.idempotencyRetentionSeconds + 60) * 1000;
    admin = await adminToken(hub);
    const later = await create('shared-key', { ...sofa('IDEM-7C'), name: 'Much later' });
    expect(later.status).toBe(201);
    expect(later.body.name).toBe('Much later');
  });

  it('ignores the header on routes that are not creates', async () => {
    const list = await call(hub, 'GET', '/api/v1/products', {
      token: admin,
      headers: { 'idempotency-key': 'whatever' },
    });
    expect(list.status).toBe(200);
  });
});
