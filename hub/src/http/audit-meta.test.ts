import type { Permission } from '@dovetail/shared';
import { describe, expect, it } from 'vitest';
import { appRouter } from './root.ts';
import type { HubMeta } from './trpc.ts';

/**
 * Every change made under a privileged permission lands in the audit trail (docs/operations.md,
 * "Audit trail"): a procedure that is a mutation under one of these permissions names its `audit`
 * action in its meta, so a new privileged route cannot be added unaudited.
 */
const privileged: ReadonlySet<Permission> = new Set<Permission>([
  'clients.manage',
  'staff.manage',
  'warehouses.write',
  'edges.enroll',
  'quotas.manage',
  'orders.manage',
  'refunds.record',
  'returns.manage',
  'customers.privacy',
]);

describe('audit coverage', () => {
  it('audits every privileged mutation, and reads none', () => {
    const procedures = appRouter._def.procedures as unknown as Record<
      string,
      { _def: { meta?: HubMeta; type: string } }
    >;
    const unaudited: string[] = [];
    const auditedQueries: string[] = [];
    let audited = 0;
    for (const [name, procedure] of Object.entries(procedures)) {
      const meta = procedure._def.meta;
      if (procedure._def.type === 'query' && meta?.audit) auditedQueries.push(name);
      if (procedure._def.type !== 'mutation' || !meta || meta.permission === 'public') continue;
      if (!privileged.has(meta.permission)) continue;
      if (meta.audit) audited++;
      else unaudited.push(name);
    }
    expect(unaudited).toEqual([]);
    expect(auditedQueries).toEqual([]);
    expect(audited).toBeGreaterThanOrEqual(19);
  });
});
