// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The customer's tracking link: one unguessable token per order (128 random bits, base64url), the
 * only key to `/track/{token}`. Orders placed before this step get theirs here.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('orders').addColumn('tracking_token', 'text').execute();
    const untyped = db as Kysely<{ orders: { id: string; tracking_token: string | null } }>;
    const orders = await untyped.selectFrom('orders').select('id').execute();
    for (const order of orders) {
      await untyped
        .updateTable('orders')
        .set({ tracking_token: randomBytes(16).toString('base64url') })
        .where('id', '=', order.id)
        .execute();
    }
    await db.schema.createIndex('orders_tracking_token').on('orders').column('tracking_token').unique().execute();
  },
};
