import type { Configuration, ReserveRequest } from '@dovetail/shared';
import type { Kysely, Transaction } from 'kysely';
import { priceLine, readSkuPricing } from '../catalog/service.ts';
import type { Database } from '../database.ts';
import { type HoldView, type ReserveContext, unknownSku } from './plan.ts';
import { releaseHold, reserveHold } from './service.ts';

type Dialect = 'sqlite' | 'postgres';

export type ConfiguredHoldView = HoldView & {
  lines: Array<HoldView['lines'][number] & { configuration?: Configuration }>;
};

/**
 * A checkout hold whose lines may carry a configuration (docs/catalog.md). Each configuration is
 * checked against its product before any unit is taken (a refusal is a 400 naming the option and
 * changes nothing); the hold is then taken as any other, and the configurations are kept per
 * (hold, SKU) for the order made from it. If they cannot be kept, the hold is given back.
 */
export async function reserveConfiguredHold(
  db: Kysely<Database>,
  dialect: Dialect,
  request: ReserveRequest,
  context: ReserveContext,
): Promise<ConfiguredHoldView> {
  const configured = request.lines.filter((line) => line.configuration !== undefined);
  if (configured.length === 0) return reserveHold(db, dialect, request, context);
  const pricing = await readSkuPricing(
    db,
    configured.map((line) => line.sku),
  );
  const resolved = new Map<string, Configuration>();
  for (const line of configured) {
    const found = pricing.get(line.sku);
    if (!found) throw unknownSku(line.sku);
    const { configuration } = priceLine(found, line.configuration);
    if (configuration) resolved.set(line.sku, configuration);
  }
  const hold = await reserveHold(
    db,
    dialect,
    { ...request, lines: request.lines.map(({ configuration: _configuration, ...line }) => line) },
    context,
  );
  if (resolved.size > 0) {
    try {
      await db
        .insertInto('hold_configurations')
        .values(
          [...resolved].map(([sku, configuration]) => ({
            hold_id: hold.id,
            sku,
            configuration_json: JSON.stringify(configuration),
          })),
        )
        .execute();
    } catch (error) {
      await releaseHold(db, dialect, hold.id, '*', context.nowMs).catch(() => undefined);
      throw error;
    }
  }
  return {
    ...hold,
    lines: hold.lines.map((line) => {
      const configuration = resolved.get(line.sku);
      return configuration ? { ...line, configuration } : line;
    }),
  };
}

/** The configurations kept with a hold, by SKU. */
export async function holdConfigurations(
  db: Kysely<Database> | Transaction<Database>,
  holdId: string,
): Promise<Map<string, Configuration>> {
  const rows = await db
    .selectFrom('hold_configurations')
    .select(['sku', 'configuration_json'])
    .where('hold_id', '=', holdId)
    .execute();
  return new Map(rows.map((row) => [row.sku, JSON.parse(row.configuration_json) as Configuration]));
}
