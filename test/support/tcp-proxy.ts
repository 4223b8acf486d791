/**
 * A loopback TCP proxy that sits between a browser and the imbed server and misbehaves on command, so
 * tests can produce the network faults a real client meets: a dropped link, a half-open link that never
 * sends a FIN, latency, a stall, and a network that is down for new connections.
 *
 * Each accepted connection is paired with one upstream connection to the target. Bytes of one direction
 * pass through one ordered lane, so delays and pauses never reorder them. Any socket error destroys the
 * pair (the proxy itself never throws an unhandled `error`), except on a blackholed lane, where the other
 * side is left open and unaware, as it would be behind a dead route.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type BlackholeDirection = 'both' | 'toServer' | 'toClient';

/** One direction of a connection pair: the chunks (or the end of stream) waiting to be written, in order. */
class Lane {
  private readonly queue: Array<{ chunk: Buffer | null; due: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  /** True once bytes of this lane were dropped: the stream can never be resumed. */
  broken = false;

  constructor(
    private readonly proxy: TcpProxy,
    private readonly to: Socket,
  ) {}

  /** Bytes queued and not yet written. */
  held = 0;

  /** Queues a chunk (null: the end of the stream) behind everything queued before it. */
  push(chunk: Buffer | null): void {
    this.queue.push({ chunk, due: Date.now() + this.proxy.delayMs });
    this.held += chunk?.length ?? 0;
    this.pump();
  }

  pump(): void {
    while (this.queue.length > 0 && !this.proxy.paused) {
      const head = this.queue[0];
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      this.held -= head.chunk?.length ?? 0;
      if (this.to.destroyed) continue;
      if (head.chunk === null) this.to.end();
      else this.to.write(head.chunk);
    }
  }

  clear(): void {
    this.queue.length = 0;
    this.held = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** A client connection and its upstream connection to the target. */
class Pair {
  readonly toServer: Lane;
  readonly toClient: Lane;
  private closed = false;

  constructor(
    private readonly proxy: TcpProxy,
    readonly client: Socket,
    readonly server: Socket,
  ) {
    this.toServer = new Lane(proxy, server);
    this.toClient = new Lane(proxy, client);
    this.wire(client, this.toServer, 'toServer', server);
    this.wire(server, this.toClient, 'toClient', client);
  }

  private wire(from: Socket, lane: Lane, direction: 'toServer' | 'toClient', to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.proxy.blackholes(direction)) {
        lane.broken = true;
        this.proxy.droppedBytes += chunk.length;
        this.proxy.droppedToClient += direction === 'toClient' ? chunk.toString('latin1') : '';
      } else {
        lane.push(chunk);
      }
    });
    from.on('end', () => {
      // A FIN is a byte of the stream too: a blackholed lane swallows it.
      if (this.proxy.blackholes(direction)) lane.broken = true;
      else lane.push(null);
    });
    from.on('error', () => this.fail(from, direction, to));
    from.on('close', (hadError) => {
      if (hadError) this.fail(from, direction, to);
      else if (to.destroyed || (to.writableEnded && to.readableEnded)) this.destroy();
    });
  }

  /** One side failed: tell the other side by destroying it too, unless the lane between them is a blackhole. */
  private fail(from: Socket, direction: 'toServer' | 'toClient', to: Socket): void {
    from.destroy();
    if (this.proxy.blackholes(direction)) {
      (direction === 'toServer' ? this.toServer : this.toClient).broken = true;
      if (to.destroyed) this.destroy();
    } else {
      this.destroy();
    }
  }

  /** True when this pair lost bytes or a FIN to a blackhole, or one of its sockets is gone. */
  get broken(): boolean {
    return this.toServer.broken || this.toClient.broken || this.client.destroyed || this.server.destroyed;
  }

  get held(): number {
    return this.toServer.held + this.toClient.held;
  }

  pump(): void {
    this.toServer.pump();
    this.toClient.pump();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.toServer.clear();
    this.toClient.clear();
    this.client.destroy();
    this.server.destroy();
    this.proxy.forget(this);
  }
}

/**
 * A fault-injecting TCP proxy on 127.0.0.1 in front of `host:targetPort`.
 *
 * Faults apply to live connections and to new ones until `heal()`: `blackhole`, `delay` and `pause` act on
 * bytes, `refuse` on new connections, `cutAll` on the connections open at the time of the call.
 */
export class TcpProxy {
  /** The port the proxy listens on. */
  readonly port: number;
  /** Extra latency per chunk in ms. */
  delayMs = 0;
  /** True while every byte is held (`pause()` until `resume()`). */
  paused = false;
  /** Bytes dropped by blackholes since the proxy started (lets tests wait until a fault has bitten). */
  droppedBytes = 0;
  /**
   * The bytes dropped on their way to clients, as latin1 text: server frames are not masked, so a test
   * can wait until the very frame it means to lose (an ack naming a cmid) has been dropped.
   */
  droppedToClient = '';
  private blackholed: { toServer: boolean; toClient: boolean } = { toServer: false, toClient: false };
  private refusing = false;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
    private readonly host: string,
  ) {
    this.port = (server.address() as { port: number }).port;
    server.on('connection', (client) => this.accept(client));
    server.on('error', () => {});
  }

  /** Listens on a free loopback port and forwards to `host:targetPort`. */
  static async start(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpProxy(server, targetPort, host);
  }

  /** The imbed WebSocket endpoint through this proxy. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Connection pairs currently open. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Bytes received and not yet delivered (held by `pause()` or `delay()`), over all connections. */
  get heldBytes(): number {
    let sum = 0;
    for (const pair of this.pairs) sum += pair.held;
    return sum;
  }

  /** A real disconnect: destroys both sockets of every open connection (the peers see FIN or RST). */
  cutAll(): void {
    for (const pair of [...this.pairs]) pair.destroy();
  }

  /**
   * A half-open link: bytes (and FINs) in `direction` are dropped silently; the sockets stay open and no
   * side learns that the other stopped hearing it, until its own heartbeat gives up. Applies to open and
   * new connections until `heal()`.
   */
  blackhole(direction: BlackholeDirection): void {
    this.blackholed = {
      toServer: direction === 'both' || direction === 'toServer',
      toClient: direction === 'both' || direction === 'toClient',
    };
  }

  /** Adds `ms` of latency to every chunk from now on, both directions, keeping order. */
  delay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  /** A stall: holds every byte of every connection until `resume()`, then delivers them in order. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const pair of this.pairs) pair.pump();
  }

  /** While on, new connections are accepted and destroyed at once, like a network that is down. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /**
   * Back to normal: stops refusing, blackholing, delaying and pausing (held bytes are delivered). A
   * connection that lost bytes to a blackhole cannot carry a valid stream any more: it is destroyed.
   */
  heal(): void {
    this.refusing = false;
    this.blackholed = { toServer: false, toClient: false };
    this.delayMs = 0;
    for (const pair of [...this.pairs]) if (pair.broken) pair.destroy();
    this.resume();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** @internal Whether bytes in `direction` are being dropped. */
  blackholes(direction: 'toServer' | 'toClient'): boolean {
    return this.blackholed[direction];
  }

  /** @internal Called by a pair once it is destroyed. */
  forget(pair: Pair): void {
    this.pairs.delete(pair);
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = connect({ port: this.targetPort, host: this.host, allowHalfOpen: true });
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    this.pairs.add(new Pair(this, client, upstream));
  }
}
