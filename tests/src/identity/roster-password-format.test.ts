import { describe, expect, it } from 'vitest';
import { verifyPassword } from '@dovetail/edge/testing';
import { hashPassword } from '@dovetail/hub/testing';

/**
 * The hub hashes staff passwords; edges verify those hashes from the replicated roster while the
 * link is down. The two sides are separate code, so this pins that they agree on the format.
 */
describe('a staff password hashed at the hub', () => {
  it('verifies at the edge, and a wrong one does not', async () => {
    const stored = await hashPassword('maria-password-1');
    expect(await verifyPassword('maria-password-1', stored)).toBe(true);
    expect(await verifyPassword('maria-password-2', stored)).toBe(false);
  });

  it('matches whether its accents were typed composed or decomposed', async () => {
    const composed = 'caf\u00e9-cr\u00e8me-2026';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    // Set at the hub from a keyboard that sends decomposed accents, typed at the edge composed.
    const stored = await hashPassword(decomposed);
    expect(await verifyPassword(composed, stored)).toBe(true);
    expect(await verifyPassword(decomposed, stored)).toBe(true);
  });
});
