/**
 * A second client in Node, speaking protocol v1 over `ws`, for filling a conversation fast: it pipelines
 * `send`s on one connection (the server handles them in order) and resolves once every one is acknowledged.
 */
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';

export interface BacklogOptions {
  /** WebSocket URL of the server. */
  url: string;
  /** The server's HS256 secret, to sign the sender's token. */
  secret: string;
  user: string;
  conv: string;
  texts: readonly string[];
  timeout?: number;
}

/** Sends `texts` to `conv` as `user`, in order, and resolves once the server acknowledged all of them. */
export async function sendBacklog({ url, secret, user, conv, texts, timeout = 120_000 }: BacklogOptions): Promise<void> {
  const token = await new SignJWT({ name: user })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
  const ws = new WebSocket(url, 'imbed.v1');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`backlog: ${texts.length} sends not acknowledged within ${timeout} ms`)), timeout);
      let acked = 0;
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`backlog: socket closed with ${code} after ${acked} acks`)));
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token, convs: [{ conv, after: 0 }] })));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; code?: string };
        if (frame.type === 'welcome') {
          texts.forEach((text, i) => ws.send(JSON.stringify({ type: 'send', conv, cmid: `backlog-${user}-${i}`, text })));
        } else if (frame.type === 'sent' && ++acked === texts.length) {
          clearTimeout(timer);
          resolve();
        } else if (frame.type === 'error') {
          reject(new Error(`backlog: refused with ${frame.code}`));
        }
      });
    });
  } finally {
    ws.removeAllListeners('close');
    ws.close();
  }
}
