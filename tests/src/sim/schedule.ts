import { Commerce, type CommerceProfile, drawCommerceProfile } from './commerce.ts';
import { checkCommerce, checkPromises } from './commerce-invariants.ts';
import { checkInvariants, converged } from './invariants.ts';
import { Prng } from './prng.ts';
import type { Templates } from './templates.ts';
import { type Connection, type CrashPoints, World, noCrashPoints } from './world.ts';

/**
 * How hostile one schedule is, drawn from its seed. `chaos` lets the network drop, duplicate and
 * reorder frames inside a live connection (a datagram network); without it the network behaves like
 * TCP: frames arrive in order or the connection dies, and then in-flight frames are lost. A swallow
 * (`swallowWeight`) is the exception TCP cannot rule out: a middlebox or a wedged hub eats every
 * frame for a while and nobody closes anything, so only the sessions' answer bound ends it.
 */
export type Profile = {
  chaos: boolean;
  faultSteps: number;
  crashWeight: number;
  cutWeight: number;
  chaosWeight: number;
  swallowWeight: number;
  /** Share of scans naming a SKU the hub does not know (0 in most schedules). */
  ghostRate: number;
  /** The hub's `HUB_UNCATALOGED_STOCK`; unset: even seeds accept, odd seeds refuse. */
  uncatalogedStock?: 'accept' | 'refuse';
  /** Whether this schedule writes backlogs larger than a push batch (rare: they are slow to apply). */
  bursty: boolean;
  lostWakeRate: number;
  crashPoints: CrashPoints;
  /** Issue 5: holds, orders, quotas, in-store sales, loss and fulfillment racing the faults above. */
  commerce: CommerceProfile;
  /**
   * Whether the warehouse opens with stock the hub already knows (receives pushed over a healthy
   * connection before the faults start), so checkouts have something to race for from the first
   * step. The other schedules start cold, with first hellos racing as before.
   */
  stocked: boolean;
  /** Storm-then-heal rounds, every invariant checked after each heal. */
  acts: number;
};

export type ScheduleResult = {
  seed: number;
  ok: boolean;
  problems: string[];
  trace: string[];
  profile: Profile;
  healSteps: number;
  stallWaits: number;
  counters: World['counters'];
};

export const healStepsMax = 300;

export function drawProfile(prng: Prng): Profile {
  const point = () => prng.pick([0, 0, 0.1, 0.3]);
  return {
    chaos: prng.chance(0.35),
    faultSteps: prng.int(25, 55),
    crashWeight: prng.pick([0, 0.1, 0.3, 0.6]),
    cutWeight: prng.pick([0, 0.2, 0.6]),
    chaosWeight: prng.pick([0.3, 1]),
    swallowWeight: prng.pick([0, 0.3, 0.6, 1]),
    ghostRate: prng.chance(0.3) ? prng.pick([0.1, 0.3]) : 0,
    bursty: prng.chance(0.015),
    lostWakeRate: prng.pick([0, 0, 0.5]),
    crashPoints: {
      afterOutboxWrite: point(),
      afterPushSent: point(),
      afterHubCommitBeforeAck: point(),
      afterEdgeAppliedAck: point(),
      afterCatalogCommitBeforeWake: point(),
    },
    commerce: drawCommerceProfile(prng),
    stocked: prng.chance(0.75),
    acts: 2,
  };
}

/** Delivers frames in order, both ways, until nothing is in flight (a healthy network). */
async function settle(world: World): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const connection = world.connections.find((c) => (c.hub && c.up.length > 0) || (c.edge && c.down.length > 0));
    if (!connection) return;
    if (connection.hub && connection.up.length > 0) await world.deliverUp(connection);
    else await world.deliverDown(connection);
  }
}

/** The opening of a stocked schedule: the edge receives every commerce SKU and the hub hears of it. */
async function openStocked(world: World, commerce: Commerce): Promise<void> {
  world.log('-- opening: stock received and synced --');
  await world.write(
    commerce.profile.skus.map((sku) => ({ type: 'receive' as const, sku, quantity: world.prng.int(4, 10) })),
  );
  world.connect();
  await settle(world);
  world.log('-- faults --');
}

export type Action = readonly [string, number, () => Promise<void> | void];

/**
 * Actions that are always allowed, faults or not: deliver in order, notice closes, answer timers
 * that are due, (re)connect, restart. During faults the hub notices closes slowly, so old sockets
 * linger beside new ones.
 */
function benignActions(world: World, hubNoticeWeight: number): Action[] {
  const actions: Action[] = [];
  for (const connection of world.connections) {
    if (connection.hub && connection.up.length > 0) actions.push(['deliver up', 5, () => world.deliverUp(connection)]);
    if (connection.edge && connection.down.length > 0)
      actions.push(['deliver down', 5, () => world.deliverDown(connection)]);
    if (world.edgeMayNotice(connection)) actions.push(['edge notices close', 2, () => world.noticeEdge(connection)]);
    if (world.hubMayNotice(connection))
      actions.push(['hub notices close', hubNoticeWeight, () => world.noticeHub(connection)]);
    if (connection.edge?.overdue()) actions.push(['edge answer timeout', 2, () => world.edgeAnswerTimeout(connection)]);
    if (connection.hub?.overdue()) actions.push(['hub answer timeout', 2, () => world.hubAnswerTimeout(connection)]);
  }
  if (world.canConnect()) actions.push(['connect', 3, () => world.connect()]);
  if (!world.edge) {
    actions.push([
      'restart edge',
      2,
      async () => {
        world.log('restart edge');
        await world.startEdge();
      },
    ]);
  }
  if (!world.hub) {
    actions.push([
      'restart hub',
      2,
      async () => {
        world.log('restart hub');
        await world.startHub();
      },
    ]);
  }
  return actions;
}

function faultActions(world: World, profile: Profile, commerce: Commerce | undefined): Action[] {
  const { prng } = world;
  const actions: Action[] = [...benignActions(world, 0.5), ...(commerce?.actions() ?? [])];
  if (world.edge) actions.push(['edge write', 2.5, () => world.edgeWrite()]);
  if (world.edge && profile.bursty) actions.push(['edge burst', 0.3, () => world.edgeBurst()]);
  // A calm spell: everything in flight arrives in order (a healthy network for a moment), so orders
  // reach the pick list and facts the hub while the storm goes on around it.
  if (world.connections.some((c) => (c.hub && c.up.length > 0) || (c.edge && c.down.length > 0)))
    actions.push(['calm', 1.5, () => settle(world)]);
  const arriving = world.connections.filter((connection) => connection.hub && connection.up.length > 0);
  if (arriving.length > 1) actions.push(['deliver up concurrently', 3, () => world.deliverUpConcurrently(arriving)]);
  if (world.hub) actions.push(['catalog change', 0.7, () => world.catalogChange()]);
  if (world.hub) actions.push(['poll', 0.2, () => world.wakeAll()]);
  if (world.edge) actions.push(['crash edge', profile.crashWeight, () => world.crashEdge('scheduled')]);
  if (world.hub) actions.push(['crash hub', profile.crashWeight, () => world.crashHub('scheduled')]);
  // A long silence: nothing arrives until the first frame still waiting for an answer is overdue.
  const deadline = earliestAnswerDeadline(world, () => true);
  if (deadline !== undefined && deadline.atMs > world.nowMs)
    actions.push(['silence', 0.3, () => waitForAnswerBound(world, deadline.atMs)]);
  for (const connection of world.connections) {
    if (!connection.cut && connection.edge && connection.hub)
      actions.push(['cut', profile.cutWeight, () => world.cut(connection)]);
    if (!connection.cut && !connection.swallowed && connection.edge && connection.hub)
      actions.push(['swallow', profile.swallowWeight, () => world.swallow(connection)]);
    if (connection.swallowed) actions.push(['frames pass again', 0.5, () => world.passFrames(connection)]);
    if (!profile.chaos) continue;
    for (const direction of ['up', 'down'] as const) {
      const queue = connection[direction];
      if (queue.length === 0) continue;
      const w = profile.chaosWeight;
      actions.push([
        `drop ${direction}`,
        w,
        () => {
          const [frame] = queue.splice(prng.int(0, queue.length - 1), 1);
          world.log(`drop c${connection.id} ${direction} ${frame?.type}`);
        },
      ]);
      actions.push([
        `duplicate ${direction}`,
        w,
        () => {
          const index = prng.int(0, queue.length - 1);
          world.log(`duplicate c${connection.id} ${direction} ${queue[index]?.type}`);
          world.duplicate(queue, index);
        },
      ]);
      if (queue.length > 1)
        actions.push([`reorder ${direction}`, w, () => deliverOutOfOrder(world, connection, direction)]);
    }
  }
  return actions;
}

/** The earliest answer deadline among `connections` that `include` admits, and whose it is. */
function earliestAnswerDeadline(
  world: World,
  include: (connection: Connection) => boolean,
): { atMs: number; connection: Connection } | undefined {
  let earliest: { atMs: number; connection: Connection } | undefined;
  for (const connection of world.connections) {
    if (!include(connection)) continue;
    const atMs = world.answerDeadlineMs(connection);
    if (atMs !== undefined && (earliest === undefined || atMs < earliest.atMs)) earliest = { atMs, connection };
  }
  return earliest;
}

/** The clock moves to `atMs` with nothing arriving meanwhile: an answer timer is then due. */
function waitForAnswerBound(world: World, atMs: number): void {
  const waitedMs = Math.max(0, atMs - world.nowMs);
  world.nowMs += waitedMs;
  world.log(`silence: ${waitedMs} ms pass with nothing answered`);
}

function deliverOutOfOrder(world: World, connection: Connection, direction: 'up' | 'down'): Promise<void> {
  const index = world.prng.int(1, connection[direction].length - 1);
  return direction === 'up' ? world.deliverUp(connection, index) : world.deliverDown(connection, index);
}

async function runAction(world: World, actions: Action[]): Promise<void> {
  const [, , run] = world.prng.weighted(actions.map((action) => [action, action[1]] as const));
  await run();
}

export type HealResult = { problems: string[]; healSteps: number; stallWaits: number };

/**
 * The heal phase: no more faults (swallowing connections pass frames again); frames are delivered
 * in order, closes noticed, answer timers fire, processes restarted and the edge reconnects, until
 * the outbox drained and every channel caught up, within `healStepsMax` steps (liveness), then every
 * invariant. A quiescent open connection that has not converged is a stall. Where a frame may have
 * been lost inside a live connection (`chaos`, or a swallow on it), the clock runs to the sessions'
 * answer bound and their timers must end it; a stall with nothing waiting for an answer, or over a
 * TCP-like connection that never lost a frame, fails.
 */
export async function healAndCheck(
  world: World,
  options: { chaos: boolean; commerce?: Commerce },
): Promise<HealResult> {
  const result: HealResult = { problems: [], healSteps: 0, stallWaits: 0 };
  world.log('-- heal: no more faults --');
  world.crashPoints = noCrashPoints;
  world.lostWakeRate = 0;
  for (const connection of world.connections) if (connection.swallowed) world.passFrames(connection);
  let done = false;
  for (; result.healSteps < healStepsMax; result.healSteps++) {
    world.tick();
    if (await converged(world)) {
      done = true;
      break;
    }
    let actions = benignActions(world, 2);
    if (actions.length === 0) {
      // Quiescent but not converged: the server's slow poll looks at the logs.
      await world.wakeAll();
      actions = benignActions(world, 2);
    }
    if (actions.length === 0) {
      const deadline = earliestAnswerDeadline(world, (connection) => options.chaos || connection.lossy);
      if (!deadline) {
        result.problems.push(
          `liveness: stalled after ${result.healSteps} heal steps with a connection open, nothing in flight and nothing lost`,
        );
        return result;
      }
      result.stallWaits++;
      world.log(`stalled: the clock runs to c${deadline.connection.id}'s answer bound`);
      waitForAnswerBound(world, deadline.atMs);
      continue;
    }
    await runAction(world, actions);
  }
  if (!done) {
    result.problems.push(`liveness: not converged within ${healStepsMax} heal steps`);
    return result;
  }
  result.problems.push(...(await checkInvariants(world)));
  if (options.commerce) result.problems.push(...(await checkCommerce(world, options.commerce)));
  return result;
}

/** One schedule: a fault phase of random actions drawn from the seed, then `healAndCheck`. */
export async function runSchedule(
  templates: Templates,
  seed: number,
  options: { dir: string; profile?: Partial<Profile> },
): Promise<ScheduleResult> {
  const prng = new Prng(seed);
  const profile = { ...drawProfile(prng), ...options.profile };
  const world = await World.create(templates, prng, options.dir);
  world.ghostRate = profile.ghostRate;
  // From the seed, not a draw: every seed keeps the schedule it had before this setting existed.
  world.uncatalogedStock = profile.uncatalogedStock ?? (seed % 2 === 0 ? 'accept' : 'refuse');
  const commerce = new Commerce(world, profile.commerce);
  world.log(`seed ${seed}: ${JSON.stringify(profile)}`);
  const problems: string[] = [];
  let heal: HealResult = { problems: [], healSteps: 0, stallWaits: 0 };
  try {
    if (profile.stocked) await openStocked(world, commerce);
    // Two acts, each a storm then a heal and every check: orders paid late in the first reach the
    // pick list and are picked, packed, shipped and cancelled in the second, racing a new storm.
    for (let act = 1; act <= profile.acts; act++) {
      world.crashPoints = profile.crashPoints;
      world.lostWakeRate = profile.lostWakeRate;
      if (act > 1) world.log(`-- act ${act}: the storm returns --`);
      for (let step = 0; step < profile.faultSteps; step++) {
        world.tick();
        await runAction(world, faultActions(world, profile, commerce));
        // No oversell holds at every step, not only once healed (the first breach is enough).
        if (world.violations.length === 0)
          for (const problem of await checkPromises(world, commerce, { healed: false }))
            world.violation(`act ${act} step ${step}: ${problem}`);
      }
      const healed = await healAndCheck(world, { chaos: profile.chaos, commerce });
      heal = {
        ...healed,
        healSteps: Math.max(heal.healSteps, healed.healSteps),
        stallWaits: heal.stallWaits + healed.stallWaits,
      };
      if (heal.problems.length > 0 || world.violations.length > 0) break;
    }
    problems.push(...heal.problems);
  } catch (error) {
    problems.push(`simulation threw: ${(error as Error).stack ?? error}`);
  } finally {
    problems.unshift(...world.violations);
    await world.close().catch((error) => problems.push(`closing the world threw: ${(error as Error).message}`));
  }
  return {
    seed,
    ok: problems.length === 0,
    problems,
    trace: world.trace,
    profile,
    healSteps: heal.healSteps,
    stallWaits: heal.stallWaits,
    counters: world.counters,
  };
}

export function formatFailure(result: ScheduleResult, traceLines = 80): string {
  const trace = result.trace.length > traceLines ? ['…', ...result.trace.slice(-traceLines)] : result.trace;
  return [
    `schedule seed ${result.seed} failed (replay: SIM_SEED=${result.seed} npm test, or SIM_SEED=${result.seed} npx vitest run src/sim in tests/)`,
    ...result.problems.map((problem) => `  ✗ ${problem}`),
    '  trace:',
    ...trace.map((line) => `    ${line}`),
  ].join('\n');
}
