import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adapters, adminToken, call, clientToken, startTestHub, type TestHub } from '../testing/harness.ts';
import { rowHash } from './chain.ts';
import { recordAudit, verifyAuditChain } from './service.ts';

const form = (fields: Record<string, string>) => ({
  rawBody: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

/** The audit trail (docs/operations.md, "Audit trail") on both adapters. */
describe.each(adapters)('audit trail on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;
  let clock: number;

  beforeEach(async () => {
    clock = Date.parse('2026-12-07T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
  });
  afterEach(() => hub.dispose());

  const audit = async (query = '') => {
    const response = await call(hub, 'GET', `/api/v1/audit${query}`, { token: admin });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body as {
      items: Array<
        { seq: number; action: string; actor: string; actorKind: string; target: string | null } & Record<
          string,
          unknown
        >
      >;
      nextCursor: string | null;
    };
  };

  /** A few privileged actions by the bootstrap admin, each a minute apart. */
  const privilegedActions = async () => {
    const warehouse = await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      headers: { 'x-request-id': 'req-warehouse-1' },
      body: { id: 'AMS', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.37, lon: 4.89 } },
    });
    expect(warehouse.status).toBe(201);
    clock += 60_000;
    expect((await call(hub, 'POST', '/api/v1/warehouses/AMS/edges', { token: admin, body: {} })).status).toBe(201);
    clock += 60_000;
    const client = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'storefront', role: 'storefront' },
    });
    expect(client.status).toBe(201);
    clock += 60_000;
    const clientId = client.body.clientId as string;
    expect(
      (await call(hub, 'PATCH', `/api/v1/clients/${clientId}`, { token: admin, body: { requestsPerSecond: 5 } }))
        .status,
    ).toBe(200);
    clock += 60_000;
    expect((await call(hub, 'POST', '/api/v1/keys/rotate', { token: admin, body: {} })).status).toBe(200);
    clock += 60_000;
    const staff = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'grace', password: 'correct horse battery', role: 'supervisor', warehouses: ['AMS'] },
    });
    expect(staff.status).toBe(201);
    clock += 60_000;
    expect((await call(hub, 'POST', `/api/v1/staff/${staff.body.id}/disable`, { token: admin, body: {} })).status).toBe(
      200,
    );
    return { clientId, clientSecret: client.body.clientSecret as string, staffId: staff.body.id as string };
  };

  it('appends every privileged action with actor, source, request id and a digest, in one chain', async () => {
    const { clientId, staffId } = await privilegedActions();
    const { items } = await audit();
    expect(items.map((item) => [item.action, item.target])).toEqual([
      ['staff.disable', staffId],
      ['staff.create', 'grace'],
      ['signing_key.rotate', expect.any(String)],
      ['client.update', clientId],
      ['client.create', clientId],
      ['edge.enroll', 'AMS'],
      ['warehouse.create', 'AMS'],
    ]);
    for (const item of items) {
      expect(item).toMatchObject({ actor: 'admin', actorKind: 'client', source: 'unknown' });
      expect(item.digest).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(items.at(-1)).toMatchObject({ requestId: 'req-warehouse-1', at: '2026-12-07T12:00:00.000Z' });
    // Consecutive seqs, each row chained to the one before it.
    const ascending = [...items].reverse();
    ascending.forEach((item, index) => {
      expect(item.seq).toBe(index + 1);
      if (index > 0) expect(item.prevHash).toBe(ascending[index - 1]?.hash);
    });
    const rows = await hub.storage.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('correct horse');
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: true, rows: 7, headSeq: 7 });
  });

  it('records refused token requests and refused staff sign-ins, and nothing for a rejected change', async () => {
    const refused = await call(hub, 'POST', '/oauth/token', {
      ...form({ grant_type: 'client_credentials', client_id: 'admin', client_secret: 'not-the-secret' }),
    });
    expect(refused.status).toBe(401);
    const login = await call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'nobody', password: 'wrong' } });
    expect(login.status).toBe(401);
    // A change refused by validation changed nothing, so the trail does not list it.
    const bad = await call(hub, 'POST', '/api/v1/warehouses', { token: admin, body: { id: '' } });
    expect(bad.status).toBe(400);
    const { items } = await audit();
    expect(items.map((item) => [item.action, item.actor, item.actorKind])).toEqual([
      ['auth.sign_in_refused', 'nobody', 'unauthenticated'],
      ['auth.token_refused', 'admin', 'unauthenticated'],
    ]);
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: true, rows: 2 });
  });

  it('records privacy requests without the e-mail they name', async () => {
    for (const action of ['export', 'erase']) {
      const response = await call(hub, 'POST', `/api/v1/customers/${action}`, {
        token: admin,
        body: { email: 'ada.lovelace@example.com' },
      });
      expect(response.status).toBe(200);
    }
    const { items } = await audit();
    expect(items.map((item) => [item.action, item.target])).toEqual([
      ['customer.erase', null],
      ['customer.export', null],
    ]);
    const rows = await hub.storage.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('lovelace');
  });

  it('filters by actor, action and time, pages with a cursor, and is for admins only', async () => {
    const { clientId, clientSecret } = await privilegedActions();
    await call(
      hub,
      'POST',
      '/oauth/token',
      form({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }),
    );

    expect((await audit('?action=client.create')).items.map((item) => item.target)).toEqual([clientId]);
    expect((await audit('?actor=x')).items.map((item) => item.action)).toEqual(['auth.token_refused']);
    const window = await audit(
      `?from=${encodeURIComponent('2026-12-07T12:01:00Z')}&to=${encodeURIComponent('2026-12-07T12:03:00Z')}`,
    );
    expect(window.items.map((item) => item.action)).toEqual(['client.create', 'edge.enroll']);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await audit(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((item) => item.seq));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);

    const badCursor = await call(hub, 'GET', '/api/v1/audit?cursor=zzzz', { token: admin });
    expect(badCursor.status).toBe(400);
    const storefront = await clientToken(hub, clientId, clientSecret);
    const forbidden = await call(hub, 'GET', '/api/v1/audit', { token: storefront });
    expect(forbidden.status).toBe(403);
    expect((await call(hub, 'GET', '/api/v1/audit')).status).toBe(401);
  });

  it('verify names the first broken link when a row is altered', async () => {
    await privilegedActions();
    await hub.storage.db.updateTable('audit_log').set({ actor: 'someone-else' }).where('seq', '=', 4).execute();
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: false, brokenSeq: 4, rows: 3 });
  });

  it('verify names the next link when an altered row is re-hashed to hide it', async () => {
    await privilegedActions();
    const row = await hub.storage.db.selectFrom('audit_log').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
    const forged = { ...row, seq: Number(row.seq), at: Number(row.at), actor: 'someone-else' };
    await hub.storage.db
      .updateTable('audit_log')
      .set({ actor: forged.actor, hash: rowHash(row.prev_hash, forged) })
      .where('seq', '=', 2)
      .execute();
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: false, brokenSeq: 3, rows: 2 });
  });

  it('keeps one chain when many appends race (serialised appends, seq as the key)', async () => {
    await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        recordAudit(
          hub.storage.db,
          hub.storage.dialect,
          { actor: `racer-${index}`, actorKind: 'client', source: 'test', action: 'test.race', change: { index } },
          clock,
        ),
      ),
    );
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: true, rows: 24, headSeq: 24 });
  });

  it('verify names the missing seq when a row is removed', async () => {
    await privilegedActions();
    await hub.storage.db.deleteFrom('audit_log').where('seq', '=', 3).execute();
    const report = await verifyAuditChain(hub.storage.db);
    expect(report).toMatchObject({ ok: false, brokenSeq: 3, rows: 2 });
    await hub.storage.db.deleteFrom('audit_log').where('seq', '=', 1).execute();
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: false, brokenSeq: 1, rows: 0 });
  });
});
