import { runHubBench } from '@dovetail/hub';
import { postgresAnswers } from '../support/postgres.ts';
import type { Bench } from './bench.ts';

const localPostgres = 'postgres://postgres@127.0.0.1:5432/test';

/** The hub's catalog list p99 over 10,000 products and REST vs tRPC overhead, on SQLite and, where it answers, PostgreSQL. */
export const hubApiBench: Bench = {
  name: 'hub catalog and API overhead (in-process, hub/src/bench.ts)',
  async run() {
    if (process.env.DOVETAIL_BENCH_DATABASE_URL === undefined && (await postgresAnswers(localPostgres))) {
      process.env.DOVETAIL_BENCH_DATABASE_URL = localPostgres;
    }
    await runHubBench();
    return {
      name: 'hub catalog and API overhead',
      figures: [],
      notes: [
        'figures printed above by the hub bench',
        process.env.DOVETAIL_BENCH_DATABASE_URL
          ? 'PostgreSQL run included'
          : 'no PostgreSQL on 127.0.0.1:5432: SQLite only',
      ],
    };
  },
};
