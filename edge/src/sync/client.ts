import { closeCodes, decodeDownstream, limits } from '@dovetail/shared';
import WebSocket from 'ws';
import type { EdgeDatabase } from '../db/open.ts';
import type { Logger } from '../logger.ts';
import type { ChangeApplier } from './apply-changes.ts';
import { HubCertificateError, certificateProblem, postForm } from './hub-request.ts';
import { EdgeSyncSession } from './session.ts';

export type SyncLinkStatus = { connected: boolean; lastError: string | null; fenced: boolean };

export type EdgeSyncClientOptions = {
  db: EdgeDatabase;
  hubUrl: string;
  clientId: string;
  clientSecret: string;
  /** PEM CA certificate(s) an https hub must chain to (`--hub-ca`), for the token request and the WebSocket alike. */
  hubCa?: Buffer;
  warehouseId: string;
  edgeId: string;
  logger: Logger;
  nowMs?: () => number;
  /** Applies the hub's downstream changes (catalog, roster, fulfillment orders and requests). */
  applyChange: ChangeApplier;
  /** Called after downstream changes are applied (e.g. to refresh caches). */
  onChanges?: () => void;
  /** The hub's replica of a partition drifted from this edge's: record a reconcile event. */
  onDrift?: (sku: string) => void;
  /**
   * The hub's welcome or ack was recorded: everything through `upstreamAck` is applied at the hub
   * (observation only, e.g. the many-warehouses bench timing each event to its ack).
   */
  onUpstreamAck?: (upstreamAck: number, frame: 'welcome' | 'ack') => void;
  /**
   * How long a hello or a push may wait for the hub's answer before the link is dropped; defaults to
   * `EDGE_SYNC_ANSWER_TIMEOUT_MS`, else `limits.syncAnswerTimeoutMs`.
   */
  answerTimeoutMs?: number;
};

const backoffBaseMs = 250;
const backoffCapMs = 30_000;
const pingIntervalMs = 10_000;
const requestTimeoutMs = 10_000;
/** How often the link looks for an answer overdue: a quarter of the bound, at most a second. */
const answerCheckIntervalMsMax = 1_000;

/**
 * `EDGE_SYNC_ANSWER_TIMEOUT_MS`: unset or empty gives the default; anything but an integer within
 * the limits is refused at start-up (a typo must not silently turn the liveness bound off).
 */
export function answerTimeoutFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return limits.syncAnswerTimeoutMs;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < limits.syncAnswerTimeoutMsMin || ms > limits.syncAnswerTimeoutMsMax) {
    throw new Error(
      `EDGE_SYNC_ANSWER_TIMEOUT_MS=${value.slice(0, 40)}: give milliseconds, an integer from ${limits.syncAnswerTimeoutMsMin} to ${limits.syncAnswerTimeoutMsMax}`,
    );
  }
  return ms;
}

/**
 * Keeps one WebSocket to the hub's `/sync` open for as long as the node runs: fetches a token with
 * the edge's client credentials, speaks the protocol through `EdgeSyncSession`, detects dead links
 * with ping/pong and live links that stopped answering (a hello or push unanswered past the bound,
 * `EdgeSyncSession.overdue`), and reconnects with capped exponential backoff and full jitter. A link
 * fenced by a newer enrollment (close 4409) stops for good: two edges must never write one warehouse.
 */
export class EdgeSyncClient {
  readonly id = 'edge-sync-client';
  readonly #options: EdgeSyncClientOptions;
  readonly #nowMs: () => number;
  readonly #applyChange: ChangeApplier;
  readonly #answerTimeoutMs: number;
  #session: EdgeSyncSession | undefined;
  #socket: WebSocket | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #status: SyncLinkStatus = { connected: false, lastError: null, fenced: false };
  #cachedToken: { token: string; epoch: number; expiresAtMs: number } | undefined;

  constructor(options: EdgeSyncClientOptions) {
    this.#options = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#applyChange = options.applyChange;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? answerTimeoutFromEnv(process.env.EDGE_SYNC_ANSWER_TIMEOUT_MS);
  }

  get status(): SyncLinkStatus {
    return { ...this.#status };
  }

  /** Local writes were committed: push them now rather than at the next ack. */
  notifyOutbox(): void {
    this.#session?.notifyOutbox();
  }

  async run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped && !this.#status.fenced) {
      const welcomed = await this.#connectOnce().catch((error: Error) => {
        this.#status.lastError = error.message;
        // An untrusted hub certificate is a configuration error, not a flaky link: logged as an error.
        if (error instanceof HubCertificateError) this.#options.logger.error(error.message);
        else this.#options.logger.warn({ err: error.message }, 'sync link failed');
        return false;
      });
      if (this.#stopped || this.#status.fenced) break;
      attempt = welcomed ? 0 : attempt + 1;
      const delayMs = Math.random() * Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.min(attempt, 16));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#socket?.close(1001, 'edge shutting down');
  }

  /** The access token is reused until a minute before it expires: a flapping link must not burn the token budget. */
  async #token(): Promise<{ token: string; epoch: number }> {
    if (this.#cachedToken && this.#cachedToken.expiresAtMs - 60_000 > this.#nowMs()) return this.#cachedToken;
    const response = await postForm(
      new URL('/oauth/token', this.#options.hubUrl),
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.#options.clientId,
        client_secret: this.#options.clientSecret,
      }),
      { ca: this.#options.hubCa, timeoutMs: requestTimeoutMs },
    );
    const body = (response.body ?? {}) as { access_token?: unknown; error?: string };
    if (response.status === 429) {
      throw new Error(`hub is rate-limiting token requests; retrying after ${response.retryAfter ?? 'a while'} s`);
    }
    if (response.status !== 200 || typeof body.access_token !== 'string') {
      throw new Error(
        `hub refused the edge's credentials (${response.status} ${body.error ?? ''}); check --client-id/--client-secret`,
      );
    }
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      epoch?: number;
      exp?: number;
    };
    this.#cachedToken = {
      token: body.access_token,
      epoch: typeof claims.epoch === 'number' ? claims.epoch : 1,
      expiresAtMs: typeof claims.exp === 'number' ? claims.exp * 1000 : this.#nowMs(),
    };
    return this.#cachedToken;
  }

  /** One connection, from token to close. Resolves true if the hub welcomed us. */
  async #connectOnce(): Promise<boolean> {
    const { token, epoch } = await this.#token();
    const url = new URL('/sync', this.#options.hubUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      maxPayload: limits.syncFrameBytesMax,
      handshakeTimeout: requestTimeoutMs,
      // wss: verified against --hub-ca when given, else the default roots; never unverified.
      ...(url.protocol === 'wss:' && this.#options.hubCa ? { ca: this.#options.hubCa } : {}),
    });
    this.#socket = socket;
    let welcomed = false;
    const session = new EdgeSyncSession(this.#options.db, {
      warehouseId: this.#options.warehouseId,
      edgeId: this.#options.edgeId,
      epoch,
      nowMs: this.#nowMs,
      applyChange: this.#applyChange,
      answerTimeoutMs: this.#answerTimeoutMs,
      ...(this.#options.onDrift ? { onDrift: this.#options.onDrift } : {}),
      send: (message) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      },
    });
    return new Promise<boolean>((resolve) => {
      let alive = true;
      const heartbeat = setInterval(() => {
        // Still opening (a hub slow to answer the upgrade): the handshake timeout bounds that wait,
        // and ws throws on a ping before the socket is open, which would take the whole node down.
        if (socket.readyState !== WebSocket.OPEN) return;
        if (!alive) {
          this.#options.logger.warn('sync link silent past a ping interval: dropping it');
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, pingIntervalMs);
      socket.on('pong', () => {
        alive = true;
      });
      // Pongs prove the hub's process runs, not that it answers: a hello or push unanswered past
      // the bound drops the link (terminate: a close handshake would wait on the same silence).
      const answers = setInterval(
        () => {
          const fault = session.overdue();
          if (!fault) return;
          this.#status.lastError = fault.message;
          this.#options.logger.warn({ fault }, 'hub left a sync frame unanswered: dropping the link');
          socket.terminate();
        },
        Math.min(answerCheckIntervalMsMax, Math.ceil(this.#answerTimeoutMs / 4)),
      );
      socket.on('open', () => {
        this.#session = session;
        session.start();
      });
      socket.on('message', (data, isBinary) => {
        alive = true;
        const decoded = isBinary ? { ok: false as const, detail: 'binary frame' } : decodeDownstream(data.toString());
        if (!decoded.ok) {
          this.#options.logger.error({ detail: decoded.detail }, 'malformed frame from the hub');
          socket.close(closeCodes.malformed, 'malformed frame');
          return;
        }
        const message = decoded.message;
        if (message.type === 'welcome') {
          welcomed = true;
          this.#status = { connected: true, lastError: null, fenced: false };
          this.#options.logger.info({ upstreamAck: message.upstreamAck }, 'sync link up');
        }
        if (message.type === 'error') {
          this.#status.lastError = `${message.code}: ${message.message}`;
          this.#options.logger.error({ code: message.code, message: message.message }, 'hub reported an error');
        }
        try {
          const fault = session.receive(message);
          if (fault) {
            this.#status.lastError = fault.message;
            this.#options.logger.error({ fault }, 'hub broke the sync protocol');
            socket.close(closeCodes.malformed, fault.code);
          } else if (message.type === 'checkpoint_complete') this.#options.onChanges?.();
          else if (message.type === 'ack' || message.type === 'welcome')
            this.#options.onUpstreamAck?.(message.upstreamAck, message.type);
        } catch (error) {
          this.#status.lastError = (error as Error).message;
          this.#options.logger.error({ err: error }, 'applying a sync frame failed');
          socket.close(1011, 'edge failed to apply');
        }
      });
      socket.on('error', (error) => {
        const problem = certificateProblem(error);
        this.#status.lastError = problem ?? error.message;
        if (problem) this.#options.logger.error({ code: (error as NodeJS.ErrnoException).code }, problem);
      });
      socket.on('unexpected-response', (_request, response) => {
        // The hub refused the upgrade (a revoked or expired token): fetch a fresh one next time.
        if (response.statusCode === 401) this.#cachedToken = undefined;
        this.#status.lastError = `hub refused the sync upgrade (${response.statusCode})`;
        socket.terminate();
      });
      socket.on('close', (code, reason) => {
        clearInterval(heartbeat);
        clearInterval(answers);
        if (this.#session === session) this.#session = undefined;
        this.#status.connected = false;
        if (code === closeCodes.fenced) {
          this.#status.fenced = true;
          this.#status.lastError = 'fenced: this warehouse was re-enrolled on another edge; this one stops syncing';
          this.#options.logger.error(this.#status.lastError);
        } else if (code !== 1000 && code !== 1001) {
          this.#status.lastError ??= `closed ${code} ${reason.toString()}`;
        }
        resolve(welcomed);
      });
    });
  }
}
