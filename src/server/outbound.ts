/**
 * The write side of fan-out: a frame that goes to many connections is encoded once, as a complete
 * WebSocket frame, and the very same bytes are written to every socket; and the writes of one group
 * commit are coalesced into one write (one writev system call) per socket.
 *
 * Profiling `npm run bench:fanout` showed the server spending most of its time in writev, once per
 * connection and message, and `ws.send(string)` re-encoding the same text to UTF-8 and framing it again
 * for every member. A frame written here costs one `socket.write` of a shared Buffer.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** WebSocket opcode of a text frame (RFC 6455 section 5.2) with FIN set. */
const FIN_TEXT = 0x81;

/**
 * Server-to-client text frames, framed once for any number of sockets: one frame, or several back to
 * back (`concat`) so that a connection gets them all in one write. Never modify its buffers.
 */
export class TextFrame {
  /** The frames on the wire: header, then the UTF-8 payload (server frames are not masked), each. */
  readonly wire: Buffer;
  /** The UTF-8 payload of each frame (views into `wire`). */
  readonly payloads: readonly Buffer[];

  /** The frames of `frames`, in order, in one buffer. */
  static concat(frames: readonly TextFrame[]): TextFrame {
    const wire = Buffer.concat(frames.map((f) => f.wire));
    const payloads: Buffer[] = [];
    let at = 0;
    for (const f of frames) {
      for (const p of f.payloads) payloads.push(wire.subarray(at + p.byteOffset - f.wire.byteOffset, at + p.byteOffset - f.wire.byteOffset + p.length));
      at += f.wire.length;
    }
    return new TextFrame(wire, payloads);
  }

  /** Frames `json` as one text frame. */
  static of(json: string): TextFrame {
    const length = Buffer.byteLength(json);
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const wire = Buffer.allocUnsafe(header + length);
    wire[0] = FIN_TEXT;
    if (header === 2) {
      wire[1] = length;
    } else if (header === 4) {
      wire[1] = 126;
      wire.writeUInt16BE(length, 2);
    } else {
      wire[1] = 127;
      wire.writeUInt32BE(0, 2);
      wire.writeUInt32BE(length, 6);
    }
    wire.write(json, header, 'utf8');
    return new TextFrame(wire, [wire.subarray(header)]);
  }

  private constructor(wire: Buffer, payloads: readonly Buffer[]) {
    this.wire = wire;
    this.payloads = payloads;
  }
}

/** The net socket under a ws WebSocket (ws keeps it in `_socket`, as Socket.IO's engine.io relies on too). */
export function netSocket(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * Per WebSocket, the socket frames may be written to directly, or null when they must go through ws.
 * Asked once per connection: `ws.extensions` builds a new string on every read, and cannot change once
 * the connection is open.
 */
const direct = new WeakMap<WebSocket, Socket | null>();

function directSocket(ws: WebSocket): Socket | null {
  let socket = direct.get(ws);
  if (socket === undefined) {
    socket = (ws.extensions === '' ? netSocket(ws) : undefined) ?? null;
    direct.set(ws, socket);
  }
  return socket;
}

/**
 * Writes frames to sockets, holding every socket written during a `batch` corked until the batch
 * ends, so all its frames to one connection leave in one writev. Batches may nest.
 */
export class Outbound {
  private depth = 0;
  private readonly corked: Socket[] = [];
  /** Checks to run once the batch's sockets are released (see `afterBatch`). */
  private readonly checks = new Set<{ checkBuffered(): void }>();

  /** Runs `fn`; the sockets written meanwhile (here or by `hold`) are flushed once, after it. */
  batch(fn: () => void): void {
    this.depth++;
    try {
      fn();
    } finally {
      if (--this.depth === 0) this.release();
    }
  }

  /**
   * Writes `frame` to `ws` (at once when `alone`: nothing else goes to it in this batch). ws itself
   * writes to the same socket in call order (acks, pongs, close), so frames keep their order. Only
   * without an extension: with permessage-deflate negotiated (never by this server) ws may hold frames
   * back while it compresses, and a direct write would overtake them.
   */
  write(ws: WebSocket, frame: TextFrame, alone = false): void {
    const socket = directSocket(ws);
    if (socket === null) {
      for (const payload of frame.payloads) ws.send(payload, { binary: false });
      return;
    }
    // A socket that gets one write in this batch gains nothing from being held: it is written at once.
    if (!alone) this.hold(ws);
    socket.write(frame.wire);
  }

  /** Within a batch, corks the socket of `ws` (once) before something is written to it. */
  hold(ws: WebSocket): void {
    if (this.depth === 0) return;
    const socket = netSocket(ws);
    // writableCorked counts cork() calls: ws corks and uncorks around each frame it writes itself.
    if (socket === undefined || socket.writableCorked > 0 || socket.destroyed) return;
    socket.cork();
    this.corked.push(socket);
  }

  /**
   * Runs `watcher.checkBuffered()` now, or once the current batch has released its sockets: a corked
   * socket counts everything written in the batch as buffered, although the kernel takes most of it at
   * the uncork, so a reader that keeps up would look slow.
   */
  afterBatch(watcher: { checkBuffered(): void }): void {
    if (this.depth === 0) watcher.checkBuffered();
    else this.checks.add(watcher);
  }

  private release(): void {
    for (const socket of this.corked) socket.uncork();
    this.corked.length = 0;
    for (const watcher of this.checks) watcher.checkBuffered();
    this.checks.clear();
  }
}
