import { randomBytes } from 'node:crypto';
import { base32Decode, totp } from '@dovetail/shared/totp';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../hub.ts';
import { adapters, adminSecret, adminToken, call, startTestHub } from '../testing/harness.ts';

/**
 * Hub staff MFA (docs/operations.md, "Staff MFA"): TOTP enrolment confirmed by a first code, sign-in
 * with the code once it is on, a code accepted once, secrets sealed with the key-encryption key, and
 * `HUB_REQUIRE_ADMIN_MFA` leaving an admin without MFA only the enrolment.
 */
const password = 'correct horse battery';
let clock: number;
let hub: Hub & { dispose?: () => Promise<void> };

afterEach(async () => {
  if (hub.dispose) await hub.dispose();
  else await hub.close();
});

async function addStaff(username: string, role: 'admin' | 'customer_service'): Promise<void> {
  const admin = await adminToken(hub);
  const created = await call(hub, 'POST', '/api/v1/staff', { token: admin, body: { username, password, role } });
  expect(created.status).toBe(201);
}

const login = (username: string, code?: string) =>
  call(hub, 'POST', '/api/v1/auth/login', { body: { username, password, ...(code === undefined ? {} : { code }) } });

/** Signs in, enrols and confirms: the secret's bytes. */
async function enrol(username: string): Promise<Uint8Array> {
  const signedIn = await login(username);
  expect(signedIn.status).toBe(200);
  const started = await call(hub, 'POST', '/api/v1/staff/me/mfa', { token: signedIn.body.token, body: {} });
  expect(started.status).toBe(200);
  expect(started.headers.get('cache-control')).toBe('no-store');
  const uri = new URL(started.body.otpauthUri);
  expect(uri.protocol).toBe('otpauth:');
  expect(uri.searchParams.get('secret')).toBe(started.body.secret);
  expect(uri.searchParams.get('digits')).toBe('6');
  expect(uri.searchParams.get('period')).toBe('30');
  expect(decodeURIComponent(uri.pathname)).toContain(username);
  const secret = base32Decode(started.body.secret);
  const wrong = await call(hub, 'POST', '/api/v1/staff/me/mfa/confirm', {
    token: signedIn.body.token,
    body: { code: totp(secret, clock + 300_000) },
  });
  expect(wrong.status).toBe(422);
  expect(wrong.body.error.code).toBe('invalid_mfa_code');
  // Not on yet: the password alone still signs in.
  expect((await login(username)).status).toBe(200);
  const confirmed = await call(hub, 'POST', '/api/v1/staff/me/mfa/confirm', {
    token: signedIn.body.token,
    body: { code: totp(secret, clock) },
  });
  expect(confirmed.status).toBe(200);
  expect(confirmed.body).toEqual({ enabled: true });
  return secret;
}

describe.each(adapters)('hub staff MFA on %s', (adapter) => {
  it('asks for the code once enrolled, refuses a wrong or replayed one, accepts drift of one step', async () => {
    clock = Date.parse('2026-12-07T12:00:05Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    await addStaff('ana', 'customer_service');
    const secret = await enrol('ana');

    const missing = await login('ana');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('mfa_required');
    const wrong = await login('ana', totp(secret, clock + 120_000));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_mfa_code');
    // The confirming code's step is used: the same code again is a replay.
    const replayed = await login('ana', totp(secret, clock));
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.message).toContain('already used');

    clock += 30_000;
    const next = await login('ana', totp(secret, clock));
    expect(next.status).toBe(200);
    expect(next.body.mfaEnrolmentRequired).toBeUndefined();
    expect((await call(hub, 'GET', '/api/v1/orders', { token: next.body.token })).status).toBe(200);
    expect((await login('ana', totp(secret, clock))).status).toBe(401);
    // A code one step ahead (a fast phone clock) is accepted, once.
    expect((await login('ana', totp(secret, clock + 30_000))).status).toBe(200);
    expect((await login('ana', totp(secret, clock + 30_000))).status).toBe(401);
    // A second enrolment while MFA is on is refused.
    expect((await call(hub, 'POST', '/api/v1/staff/me/mfa', { token: next.body.token, body: {} })).status).toBe(409);
    // A malformed code is a 400, before any password check.
    expect((await login('ana', '12ab56')).status).toBe(400);
  });

  it('leaves API clients nothing to enrol', async () => {
    clock = Date.parse('2026-12-07T12:00:05Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    const answer = await call(hub, 'POST', '/api/v1/staff/me/mfa', { token: await adminToken(hub), body: {} });
    expect(answer.status).toBe(404);
  });
});

describe('hub staff MFA settings', () => {
  it('seals the secret with the key-encryption key', async () => {
    clock = Date.parse('2026-12-07T12:00:05Z');
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      nowMs: () => clock,
      keyEncryptionKey: randomBytes(32),
    });
    await addStaff('ana', 'customer_service');
    const secret = await enrol('ana');
    const row = await hub.storage.db
      .selectFrom('staff')
      .select(['mfa_secret', 'mfa_pending'])
      .where('username', '=', 'ana')
      .executeTakeFirstOrThrow();
    expect(row.mfa_pending).toBeNull();
    expect(row.mfa_secret).toMatch(/^enc:v1:/);
    const { base32Encode } = await import('@dovetail/shared/totp');
    expect(row.mfa_secret).not.toContain(base32Encode(secret));
    clock += 30_000;
    expect((await login('ana', totp(secret, clock))).status).toBe(200);
  });

  it('HUB_REQUIRE_ADMIN_MFA: an admin without MFA gets a token only for enrolling', async () => {
    clock = Date.parse('2026-12-07T12:00:05Z');
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      nowMs: () => clock,
      requireAdminMfa: true,
    });
    await addStaff('root', 'admin');
    await addStaff('cs', 'customer_service');
    const limited = await login('root');
    expect(limited.status).toBe(200);
    expect(limited.body.mfaEnrolmentRequired).toBe(true);
    const refused = await call(hub, 'GET', '/api/v1/staff', { token: limited.body.token });
    expect(refused.status).toBe(403);
    // The operations console does not take it either.
    const opsSignIn = await hub.app.request('http://hub.test/ops/sign-in', {
      method: 'POST',
      headers: { origin: 'http://hub.test', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'root', password, next: '/ops' }).toString(),
    });
    expect(opsSignIn.status).toBe(403);
    expect(opsSignIn.headers.get('set-cookie') ?? '').not.toContain('dovetail_ops=');
    // Other roles are not affected.
    expect((await login('cs')).body.mfaEnrolmentRequired).toBeUndefined();

    const secret = await enrol('root');
    clock += 30_000;
    const full = await login('root', totp(secret, clock));
    expect(full.status).toBe(200);
    expect(full.body.mfaEnrolmentRequired).toBeUndefined();
    expect((await call(hub, 'GET', '/api/v1/staff', { token: full.body.token })).status).toBe(200);

    // The console's sign-in form has the code field and signs in with it.
    const form = await (await hub.app.request('http://hub.test/ops/sign-in')).text();
    expect(form).toContain('name="code"');
    clock += 30_000;
    const withCode = await hub.app.request('http://hub.test/ops/sign-in', {
      method: 'POST',
      headers: { origin: 'http://hub.test', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'root', password, code: totp(secret, clock), next: '/ops' }).toString(),
    });
    expect(withCode.status).toBe(303);
    expect(withCode.headers.get('set-cookie') ?? '').toContain('dovetail_ops=');
  });
});

describe('hub staff MFA reset and refusals in the audit trail', () => {
  it('lets an admin reset a lost second factor, and records refused codes', async () => {
    clock = Date.parse('2026-12-07T12:00:05Z');
    hub = await createHub({ storage: { kind: 'sqlite', file: ':memory:' }, adminSecret, nowMs: () => clock });
    await addStaff('ana', 'customer_service');
    const secret = await enrol('ana');
    expect((await login('ana', totp(secret, clock + 120_000))).status).toBe(401);
    expect((await login('ana', totp(secret, clock))).status).toBe(401);
    const refusals = await hub.storage.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'auth.sign_in_refused')
      .execute();
    expect(refusals.length).toBe(2);

    const admin = await adminToken(hub);
    const id = (await call(hub, 'GET', '/api/v1/staff', { token: admin })).body.items.find(
      (person: { username: string }) => person.username === 'ana',
    ).id;
    const reset = await call(hub, 'POST', `/api/v1/staff/${id}/mfa/reset`, { token: admin, body: {} });
    expect(reset.status).toBe(200);
    expect((await login('ana')).status).toBe(200);
    expect(
      (
        await call(hub, 'POST', '/api/v1/staff/01a2519f-550b-7346-8888-5a02664acfa0/mfa/reset', {
          token: admin,
          body: {},
        })
      ).status,
    ).toBe(404);
  });
});
