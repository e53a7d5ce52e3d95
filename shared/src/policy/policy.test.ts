import { describe, expect, it } from 'vitest';
import {
  type Permission,
  type Principal,
  type Role,
  authorize,
  edgeStaffRoles,
  permissions,
  roles,
  seesEveryRecord,
} from './policy.ts';

const permissionNames = Object.keys(permissions) as Permission[];
const matrix = permissionNames.flatMap((permission) => roles.map((role) => ({ permission, role })));
const scopedPermissions = permissionNames.filter((permission) => permissions[permission].scoped);

function principal(role: Role, warehouses: Principal['warehouses']): Principal {
  return { subject: `${role}-1`, role, warehouses };
}

describe('authorize over the whole permission × role matrix', () => {
  it('the matrix covers every permission and every role', () => {
    expect(matrix).toHaveLength(permissionNames.length * roles.length);
    expect(permissionNames.length).toBeGreaterThan(0);
  });

  it.each(matrix)('$role and $permission: granted exactly when the table lists the role', ({ permission, role }) => {
    const listed = (permissions[permission].roles as readonly Role[]).includes(role);
    const decision = authorize(principal(role, '*'), permission, 'berlin');
    if (listed) {
      expect(decision).toEqual({ ok: true });
    } else {
      expect(decision).toEqual({
        ok: false,
        reason: 'insufficient_role',
        message: expect.stringContaining(permission),
      });
    }
    // Scope never rescues a missing role: the answer is the same for a principal scoped to the warehouse.
    expect(authorize(principal(role, ['berlin']), permission, 'berlin').ok).toBe(listed);
  });

  it('every role the table names is a known role, and no permission is granted to nobody', () => {
    for (const permission of permissionNames) {
      expect(permissions[permission].roles.length).toBeGreaterThan(0);
      for (const role of permissions[permission].roles) expect(roles).toContain(role);
    }
  });

  it('edge staff roles are roles', () => {
    for (const role of edgeStaffRoles) expect(roles).toContain(role);
  });
});

describe('authorize warehouse scope', () => {
  const granted = scopedPermissions.flatMap((permission) =>
    (permissions[permission].roles as readonly Role[]).map((role) => ({ permission, role })),
  );

  it('there are scoped permissions to check', () => {
    expect(granted.length).toBeGreaterThan(0);
  });

  it.each(granted)('$role with $permission is refused for a warehouse outside its scope', ({ permission, role }) => {
    expect(authorize(principal(role, ['paris', 'lyon']), permission, 'berlin')).toEqual({
      ok: false,
      reason: 'outside_warehouse_scope',
      message: expect.stringContaining('berlin'),
    });
    expect(authorize(principal(role, []), permission, 'berlin').ok).toBe(false);
  });

  it.each(granted)('$role with $permission is allowed for a warehouse inside its scope', ({ permission, role }) => {
    expect(authorize(principal(role, ['paris', 'berlin']), permission, 'berlin')).toEqual({ ok: true });
  });

  it.each(granted)("$role with $permission and warehouses '*' passes any warehouse scope", ({ permission, role }) => {
    for (const warehouseId of ['berlin', 'paris', 'x']) {
      expect(authorize(principal(role, '*'), permission, warehouseId)).toEqual({ ok: true });
    }
  });

  const unscopedGranted = permissionNames
    .filter((permission) => !permissions[permission].scoped)
    .flatMap((permission) => (permissions[permission].roles as readonly Role[]).map((role) => ({ permission, role })));

  it.each(unscopedGranted)(
    '$role with the unscoped $permission is allowed whatever its warehouses',
    ({ permission, role }) => {
      expect(authorize(principal(role, ['paris']), permission, 'berlin')).toEqual({ ok: true });
      expect(authorize(principal(role, []), permission, 'berlin')).toEqual({ ok: true });
    },
  );

  it('matches warehouse ids exactly, not by prefix or case', () => {
    const staff = principal('warehouse_staff', ['berlin']);
    expect(authorize(staff, 'stock.record', 'berlin-2').ok).toBe(false);
    expect(authorize(staff, 'stock.record', 'Berlin').ok).toBe(false);
    expect(authorize(staff, 'stock.record', 'berl').ok).toBe(false);
  });

  it('checks the role before the scope', () => {
    const decision = authorize(principal('customer', ['paris']), 'stock.record', 'berlin');
    expect(decision.ok === false && decision.reason).toBe('insufficient_role');
  });
});

describe('the permission table', () => {
  it('lets admins and customer service see every record, and only them', () => {
    expect(roles.filter(seesEveryRecord)).toEqual(['admin', 'customer_service']);
    expect(permissions['orders.read'].roles).toEqual(expect.arrayContaining(roles.filter(seesEveryRecord)));
  });

  it('keeps free-form adjustments to supervisors and admins', () => {
    expect([...permissions['stock.adjust'].roles].sort()).toEqual(['admin', 'supervisor']);
  });

  it('lets only edges speak the sync protocol', () => {
    expect([...permissions['sync.connect'].roles]).toEqual(['edge']);
  });

  it('never lets customers or the storefront touch stock', () => {
    for (const permission of permissionNames.filter((name) => name.startsWith('stock.'))) {
      expect(permissions[permission].roles).not.toContain('customer');
      expect(permissions[permission].roles).not.toContain('storefront');
    }
  });
});
