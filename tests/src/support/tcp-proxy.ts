import net from 'node:net';
import { withTimeout } from './cleanup.ts';

/**
 * A loopback TCP proxy the test controls, for cutting a link between two real processes.
 * `cut()` destroys every live connection (both halves, at once); with `refuse` it also drops every
 * new connection the moment it is accepted until `heal()`; with `hold` (or `hold()` alone) the link
 * is blackholed instead: new connections are accepted but nothing is forwarded until `heal()`
 * connects them through (a peer that gives up meanwhile just closes its side). Holding keeps the
 * edge's reconnect backoff from growing while a test takes its time.
 * `cutAfterNextFrame()` cuts right after a whole client→target WebSocket frame of at least
 * `minBytes` has been handed to the target's socket and before the target answered anything: the
 * hub has the complete push and applies it, but the ack can never reach the edge.
 */
export type TcpProxy = {
  port: number;
  url: string;
  /** Connections accepted and forwarded so far. */
  readonly connections: number;
  /** Connections live right now. */
  readonly live: number;
  /** WebSocket upgrades (`GET /sync`) seen so far, and how many of those are live right now. */
  readonly webSockets: number;
  readonly liveWebSockets: number;
  /** Cuts done so far (each destroys every live connection). */
  readonly cuts: number;
  cut(options?: CutOptions): void;
  hold(): void;
  heal(): void;
  /** Arms one frame-triggered cut (then `refuse` or `hold` as for `cut`); resolves once it happened, bounded. */
  cutAfterNextFrame(options: CutOptions & { minBytes: number; timeoutMs: number }): Promise<{ frameBytes: number }>;
  close(): Promise<void>;
};

/** What happens to new connections after a cut: forwarded (default), refused, or held until `heal()`. */
export type CutOptions = { refuse?: boolean; hold?: boolean };

type Pair = { client: net.Socket; target: net.Socket; frames: WebSocketFrameCounter | 'plain' | undefined };

export async function startTcpProxy(upstream: { host?: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const held = new Set<net.Socket>();
  let mode: 'forward' | 'refuse' | 'hold' = 'forward';
  let connections = 0;
  let webSockets = 0;
  let cuts = 0;
  let armed: { minBytes: number; after: CutOptions; done: (frameBytes: number) => void } | undefined;

  const cut = (options: CutOptions = {}) => {
    if (options.refuse) mode = 'refuse';
    else if (options.hold) mode = 'hold';
    cuts++;
    for (const client of held) client.destroy();
    held.clear();
    for (const pair of pairs) {
      pair.client.destroy();
      pair.target.destroy();
    }
    pairs.clear();
  };

  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy();
    } else if (mode === 'hold') {
      held.add(client);
      client.on('error', () => client.destroy());
    } else forward(client);
  });

  const forward = (client: net.Socket) => {
    connections++;
    const target = net.connect({ host: upstream.host ?? '127.0.0.1', port: upstream.port, noDelay: true });
    const pair: Pair = { client, target, frames: undefined };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      target.destroy();
    };
    client.on('error', drop);
    target.on('error', drop);
    client.on('close', drop);
    target.on('close', drop);
    let head = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      let completed: number[] = [];
      if (pair.frames instanceof WebSocketFrameCounter) completed = pair.frames.feed(chunk);
      else if (pair.frames === undefined) {
        // Until the request head is complete: a `GET /sync` upgrade gets its frames counted.
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) {
          if (head.subarray(0, 9).toString('latin1') === 'GET /sync') {
            pair.frames = new WebSocketFrameCounter();
            webSockets++;
            completed = pair.frames.feed(head.subarray(end + 4));
          } else pair.frames = 'plain';
          head = Buffer.alloc(0);
        }
      }
      const minBytes = armed?.minBytes;
      const trigger = minBytes === undefined ? undefined : completed.find((bytes) => bytes >= minBytes);
      if (trigger === undefined) {
        if (!target.write(chunk)) client.pause();
        return;
      }
      const fire = armed;
      armed = undefined;
      // Handed to the kernel: the target reads the whole frame; then the link goes, before any answer.
      target.write(chunk, () => {
        cut(fire?.after);
        fire?.done(trigger);
      });
    });
    target.on('drain', () => client.resume());
    target.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) target.pause();
    });
    client.on('drain', () => target.resume());
    client.resume();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');

  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    get live() {
      return pairs.size;
    },
    get webSockets() {
      return webSockets;
    },
    get liveWebSockets() {
      return [...pairs].filter((pair) => pair.frames instanceof WebSocketFrameCounter).length;
    },
    get cuts() {
      return cuts;
    },
    cut,
    hold() {
      mode = 'hold';
    },
    heal() {
      mode = 'forward';
      const waiting = [...held];
      held.clear();
      for (const client of waiting) if (!client.destroyed) forward(client);
    },
    cutAfterNextFrame(options) {
      if (armed) throw new Error('a frame-triggered cut is already armed');
      const fired = new Promise<{ frameBytes: number }>((resolve) => {
        armed = {
          minBytes: options.minBytes,
          after: { refuse: options.refuse, hold: options.hold },
          done: (frameBytes) => resolve({ frameBytes }),
        };
      });
      return withTimeout(
        fired,
        options.timeoutMs,
        `a client frame of ${options.minBytes}+ bytes through the proxy`,
      ).finally(() => {
        armed = undefined;
      });
    },
    async close() {
      armed = undefined;
      cut({ refuse: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Follows RFC 6455 frame boundaries in one direction of a byte stream, chunk by chunk; `feed`
 * returns the total length (header + payload) of every frame that ended inside the chunk.
 */
export class WebSocketFrameCounter {
  #header: number[] = [];
  #remaining = 0;
  #frameBytes = 0;

  feed(chunk: Buffer): number[] {
    const completed: number[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        offset += take;
        this.#remaining -= take;
        if (this.#remaining === 0) completed.push(this.#frameBytes);
        continue;
      }
      this.#header.push(chunk[offset] as number);
      offset++;
      const needed = this.#headerLength();
      if (needed === undefined || this.#header.length < needed) continue;
      const payload = this.#payloadLength();
      this.#frameBytes = needed + payload;
      this.#remaining = payload;
      this.#header = [];
      if (payload === 0) completed.push(this.#frameBytes);
    }
    return completed;
  }

  #headerLength(): number | undefined {
    if (this.#header.length < 2) return undefined;
    const second = this.#header[1] as number;
    const masked = (second & 0x80) !== 0;
    const short = second & 0x7f;
    return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  #payloadLength(): number {
    const short = (this.#header[1] as number) & 0x7f;
    if (short < 126) return short;
    const bytes = Buffer.from(this.#header);
    return short === 126 ? bytes.readUInt16BE(2) : Number(bytes.readBigUInt64BE(2));
  }
}
