import { badRequest, conflict, DomainError, edgeStaffRoles, limits, unauthenticated } from '@dovetail/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { StaffDirectory } from '../../services/staff.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { clientAddress } from '../client-address.ts';
import { jsonBody } from '../validate.ts';

const usernameSchema = z
  .string()
  .min(1)
  .max(limits.usernameLengthMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'username: letters, digits and . _ @ - only');
export const loginSchema = z.strictObject({
  username: usernameSchema,
  password: z.string().min(1).max(limits.passwordLengthMax),
});
export const createStaffSchema = z.strictObject({
  username: usernameSchema,
  password: z.string().min(limits.passwordLengthMin).max(limits.passwordLengthMax),
  role: z.enum(edgeStaffRoles),
});
export const updateStaffSchema = z.strictObject({ disabled: z.boolean() });

/** `POST /login`: the only /api/v1 route that needs no token. */
export function loginRoute(deps: { staff: StaffDirectory }) {
  const app = new Hono();
  app.post('/login', async (c) => {
    const { value } = await jsonBody(c, loginSchema);
    const result = await deps.staff.signIn(value.username, value.password, clientAddress(c));
    c.header('Cache-Control', 'no-store');
    if (!result.ok && result.reason === 'busy') {
      throw new DomainError(
        'rate_limited',
        'sign_in_busy',
        'too many sign-ins at once; try again in a second',
        undefined,
        {
          retryAfterSeconds: result.retryAfterSeconds,
        },
      );
    }
    if (!result.ok && result.reason === 'too_many_attempts') {
      throw new DomainError(
        'rate_limited',
        'too_many_attempts',
        `too many failed sign-ins; try again in ${result.retryAfterSeconds} s`,
        undefined,
        { retryAfterSeconds: result.retryAfterSeconds },
      );
    }
    if (!result.ok) throw unauthenticated('unknown username or wrong password', 'invalid_credentials');
    return c.json({ token: result.token, expiresAt: result.expiresAt, staff: result.staff });
  });
  return app;
}

export function sessionRoutes(deps: { staff: StaffDirectory; warehouseId: string }) {
  const { staff, warehouseId } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();

  app.post('/logout', (c) => {
    const token = (c.req.header('authorization') ?? '').replace(/^Bearer /i, '');
    staff.signOut(token);
    return c.body(null, 204);
  });

  app.get('/me', (c) => {
    const session = c.get('session');
    c.header('Cache-Control', 'no-store');
    return c.json({
      username: session.username,
      role: session.principal.role,
      warehouseId,
      expiresAt: new Date(session.expiresMs).toISOString(),
    });
  });

  app.get('/staff', (c) => {
    permit(c.get('session').principal, 'staff.manage', warehouseId);
    c.header('Cache-Control', 'no-store');
    return c.json({ items: staff.list() });
  });

  app.post('/staff', async (c) => {
    permit(c.get('session').principal, 'staff.manage', warehouseId);
    const { value } = await jsonBody(c, createStaffSchema);
    const created = await staff.create({ ...value, source: 'local' });
    if (!created) throw conflict('username_taken', `a staff account named ${value.username} already exists`);
    return c.json(created, 201);
  });

  app.patch('/staff/:username', async (c) => {
    const session = c.get('session');
    permit(session.principal, 'staff.manage', warehouseId);
    const username = usernameSchema.safeParse(c.req.param('username'));
    if (!username.success) throw badRequest('invalid_username', 'the username in the path is not valid');
    const { value } = await jsonBody(c, updateStaffSchema);
    if (value.disabled && username.data.toLowerCase() === session.username.toLowerCase()) {
      throw new DomainError('unprocessable', 'cannot_disable_self', 'ask another supervisor to disable your account');
    }
    const updated = staff.setDisabled(username.data, value.disabled);
    if (!updated) throw new DomainError('not_found', 'unknown_staff', `no staff account named ${username.data}`);
    return c.json(updated);
  });

  return app;
}
