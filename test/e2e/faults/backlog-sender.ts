/**
 * A second client in Node, speaking protocol v1 over `ws`, for filling a conversation fast: it pipelines
 * `send`s on one connection (the server handles them in order) and resolves once every one is acknowledged.
 */
import { WebSocket } from 'ws';

export interface BacklogOptions {
  /** WebSocket URL of the server. */
  url: string;
  /** The sender's token. */
  token: string;
  conv: string;
  texts: readonly string[];
  timeout?: number;
}

/** Sends `texts` to `conv` as the token's user, in order, and resolves once the server acknowledged all of them. */
export async function sendBacklog({ url, token, conv, texts, timeout = 120_000 }: BacklogOptions): Promise<void> {
  // cmids are unique per sender forever: a batch id keeps two backlogs of one user apart.
  const batch = Math.random().toString(36).slice(2, 10);
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
          texts.forEach((text, i) => ws.send(JSON.stringify({ type: 'send', conv, cmid: `backlog-${batch}-${i}`, text })));
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
