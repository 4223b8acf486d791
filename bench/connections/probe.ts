/**
 * Preloaded (`--import`) into each server process of `bench:connections`: answers the bench over the
 * IPC channel with the process's memory, after a forced GC when asked (the process runs with
 * --expose-gc), and writes a heap snapshot on request. It adds no per-connection state.
 */
import { writeHeapSnapshot } from 'node:v8';

/** What the bench may ask. */
export type ProbeRequest = { type: 'memory'; gc: boolean } | { type: 'snapshot'; file: string };

/** The answer to a `memory` request (bytes). */
export interface MemoryReport {
  type: 'memory';
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(request: ProbeRequest): Promise<void> {
  if (request.type === 'snapshot') {
    writeHeapSnapshot(request.file);
    process.send!({ type: 'snapshot', file: request.file });
    return;
  }
  if (request.gc && typeof globalThis.gc === 'function') {
    // Twice, with a pause: the first run can leave work to finalizers and weak callbacks.
    globalThis.gc();
    await pause(200);
    globalThis.gc();
    await pause(200);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.send!({ type: 'memory', rss, heapUsed, external, arrayBuffers } satisfies MemoryReport);
}

if (process.send) {
  process.on('message', (request: ProbeRequest) => void answer(request));
  // The channel must not keep a server alive once it is told to stop.
  process.channel?.unref();
}
