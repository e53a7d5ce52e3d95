import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { authorize, closeCodes, decodeUpstream, limits } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../identity/principal.ts';
import type { Database } from '../database.ts';
import type { DownstreamNotifier } from '../downstream/notifier.ts';
import type { UncatalogedStockPolicy } from './apply-push.ts';
import { GroupCommitter } from './group-commit.ts';
import { HubSyncSession, type SyncPrincipal } from './session.ts';

export type SyncServerOptions = {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  authenticator: Authenticator;
  notifier: DownstreamNotifier;
  logger: Logger;
  nowMs?: () => number;
  /** How often senders look at the logs even without a wake-up. */
  pollIntervalMs?: number;
  /**
   * How long the hello and each checkpoint's `changes_ack` may take before the socket is dropped;
   * defaults to `HUB_SYNC_ANSWER_TIMEOUT_MS`, else `limits.syncAnswerTimeoutMs`.
   */
  answerTimeoutMs?: number;
  /** `HUB_UNCATALOGED_STOCK`: stock events for SKUs the catalog does not list are folded (`accept`, default) or refused. */
  uncatalogedStock?: UncatalogedStockPolicy;
};

const pingIntervalMs = 15_000;
/** How often a connection looks for an answer overdue: a quarter of the bound, at most a second. */
const answerCheckIntervalMsMax = 1_000;
/** How long a shutdown waits for an edge to answer the going-away close before cutting the socket. */
const closeHandshakeMs = 500;

/**
 * `HUB_SYNC_ANSWER_TIMEOUT_MS`: unset or empty gives the default; anything but an integer within
 * the limits is refused at start-up (a typo must not silently turn the liveness bound off).
 */
export function answerTimeoutFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return limits.syncAnswerTimeoutMs;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < limits.syncAnswerTimeoutMsMin || ms > limits.syncAnswerTimeoutMsMax) {
    throw new Error(
      `HUB_SYNC_ANSWER_TIMEOUT_MS=${value.slice(0, 40)}: give milliseconds, an integer from ${limits.syncAnswerTimeoutMsMin} to ${limits.syncAnswerTimeoutMsMax}`,
    );
  }
  return ms;
}

function refuse(socket: Duplex, status: 401 | 403 | 404, message: string): void {
  const body = JSON.stringify({
    error: { code: status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : 'not_found', message },
  });
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${status === 401 ? 'www-authenticate: Bearer realm="dovetail-sync"\r\n' : ''}connection: close\r\n\r\n${body}`,
  );
}

/**
 * `/sync` on the hub's HTTP server: authenticates the edge's client-credentials JWT on upgrade (the
 * policy's `sync.connect`, exactly one warehouse), validates every frame (bounded size, strict
 * schema: a bad frame closes with 4400 and applies nothing), and hands frames to a `HubSyncSession`
 * per socket. A socket whose edge answers pings but leaves the hello or a checkpoint unanswered past
 * the bound is dropped (`HubSyncSession.overdue`).
 */
export function attachSyncServer(server: http.Server, options: SyncServerOptions) {
  const nowMs = options.nowMs ?? Date.now;
  const answerTimeoutMs = options.answerTimeoutMs ?? answerTimeoutFromEnv(process.env['HUB_SYNC_ANSWER_TIMEOUT_MS']);
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.syncFrameBytesMax });
  const sessions = new Set<HubSyncSession>();
  // SQLite: one connection, an fsync per commit; every session's pushes and bookkeeping writes
  // share commits (group-commit.ts). PostgreSQL's pool runs them concurrently instead.
  const commits = options.dialect === 'sqlite' ? new GroupCommitter(options.db) : undefined;

  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://hub').pathname;
    if (path !== '/sync') return refuse(socket, 404, 'WebSocket upgrades are served at /sync only');
    options.authenticator
      .authenticate(request.headers.authorization)
      .then((auth) => {
        if (!auth) return refuse(socket, 401, 'send the edge token as Authorization: Bearer <token>');
        if (!auth.ok) return refuse(socket, 401, auth.message);
        const { principal } = auth;
        // The policy table says who may sync (as every route asks it: role, then the token's
        // scope); the protocol then needs the one warehouse the edge speaks for.
        const decision = authorize(principal, 'sync.connect');
        if (!decision.ok) return refuse(socket, 403, decision.message);
        if (!principal.scopes.has('sync.connect')) return refuse(socket, 403, 'token lacks scope sync.connect');
        if (principal.warehouses === '*' || principal.warehouses.length !== 1) {
          return refuse(socket, 403, 'an edge token names exactly one warehouse');
        }
        const syncPrincipal: SyncPrincipal = {
          clientId: principal.subject,
          warehouseId: principal.warehouses[0] as string,
          epoch: principal.epoch,
        };
        wss.handleUpgrade(request, socket, head, (ws) => connect(ws, syncPrincipal));
      })
      .catch((error) => {
        options.logger.error({ err: error }, 'sync upgrade failed');
        socket.destroy();
      });
  };

  const connect = (ws: WebSocket, principal: SyncPrincipal) => {
    const logger = options.logger.child({ warehouseId: principal.warehouseId, clientId: principal.clientId });
    const session = new HubSyncSession({
      db: options.db,
      dialect: options.dialect,
      principal,
      nowMs,
      logger,
      answerTimeoutMs,
      ...(options.uncatalogedStock ? { uncatalogedStock: options.uncatalogedStock } : {}),
      ...(commits ? { commits } : {}),
      transport: {
        send: (message) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
        },
        close: (code, reason) => ws.close(code, reason),
      },
    });
    sessions.add(session);
    logger.info('edge connected');
    let alive = true;
    let windowStartMs = nowMs();
    let framesInWindow = 0;
    const heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, pingIntervalMs);
    ws.on('pong', () => {
      alive = true;
      void session.touch();
    });
    // A pong proves the edge's process runs, not that its frames get through: a hello or checkpoint
    // unanswered past the bound drops the socket (terminate: a close handshake would wait as well).
    const answers = setInterval(
      () => {
        const overdue = session.overdue();
        if (!overdue) return;
        logger.warn({ overdue, answerTimeoutMs }, 'edge left a sync frame unanswered: dropping the connection');
        session.closed();
        ws.terminate();
      },
      Math.min(answerCheckIntervalMsMax, Math.ceil(answerTimeoutMs / 4)),
    );
    ws.on('message', (data, isBinary) => {
      alive = true;
      const now = nowMs();
      if (now - windowStartMs >= 1000) {
        windowStartMs = now;
        framesInWindow = 0;
      }
      if (++framesInWindow > limits.syncFramesPerSecondMax) {
        session.closed();
        ws.close(closeCodes.rateLimited, 'too many frames');
        return;
      }
      const decoded = isBinary
        ? ({ ok: false, detail: 'binary frames are not part of the protocol' } as const)
        : decodeUpstream(data.toString());
      if (!decoded.ok) {
        logger.warn({ detail: decoded.detail }, 'malformed frame from edge');
        ws.send(JSON.stringify({ type: 'error', code: 'malformed', message: decoded.detail.slice(0, 1000) }));
        session.closed();
        ws.close(closeCodes.malformed, 'malformed frame');
        return;
      }
      session.receive(decoded.message).catch((error) => {
        logger.error({ err: error }, 'sync frame failed');
        session.closed();
        ws.close(1011, 'hub failed to apply');
      });
    });
    ws.on('close', (code) => {
      clearInterval(heartbeat);
      clearInterval(answers);
      session.closed();
      sessions.delete(session);
      logger.info({ code }, 'edge disconnected');
    });
    ws.on('error', (error) => logger.warn({ err: error.message }, 'sync socket error'));
  };

  const unsubscribe = options.notifier.subscribe((channel) => {
    for (const session of sessions) void session.wake(channel);
  });
  // The slow poll (a lost wake-up, another instance's append): one read of every channel's head,
  // then only the sessions behind one are woken, rather than a read per session and channel.
  let polling = false;
  const poll = setInterval(() => {
    if (polling || sessions.size === 0) return;
    polling = true;
    options.db
      .selectFrom('downstream_channels')
      .select(['channel', 'last_seq'])
      .execute()
      .then((rows) => {
        const heads = new Map(rows.map((row) => [row.channel, Number(row.last_seq)]));
        for (const session of sessions) if (session.behind(heads)) void session.wake();
      })
      .catch((error: Error) => options.logger.warn({ err: error.message }, 'sync poll failed'))
      .finally(() => {
        polling = false;
      });
  }, options.pollIntervalMs ?? 1_000);
  poll.unref();
  server.on('upgrade', onUpgrade);

  return {
    get connections(): number {
      return sessions.size;
    },
    connectedWarehouses(): Set<string> {
      return new Set([...sessions].map((session) => session.warehouseId));
    },
    async close(): Promise<void> {
      clearInterval(poll);
      unsubscribe();
      server.off('upgrade', onUpgrade);
      // Going away (1001): the edges reconnect to another instance or when this one is back. An
      // edge that does not finish the close handshake within the bound is cut, so a shutdown never
      // waits on a peer.
      for (const client of wss.clients) client.close(1001, 'hub shutting down');
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, closeHandshakeMs);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(cut);
    },
  };
}
export type SyncServer = ReturnType<typeof attachSyncServer>;
