import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import { Scenario } from '../../support/scenario.ts';
import { until } from '../../support/browser.ts';
import { openClient, stateOf, statesOf } from './client-page.ts';

/** How long the client is watched for a second attempt; its backoff is 50-200 ms, so a loop would show many. */
const QUIET_MS = 2_500;

describe('a server that does not speak imbed.v1', () => {
  const s = new Scenario();
  let newer: Server;
  let wss: WebSocketServer;
  let upgrades = 0;

  before(async () => {
    await s.start();
    // A newer server, behaving as ours does on a mismatch: it echoes the offered protocol so the browser
    // completes the handshake, then closes with 4002 naming the versions it speaks.
    newer = createServer((_req, res) => res.writeHead(404).end());
    newer.on('upgrade', () => (upgrades += 1));
    wss = new WebSocketServer({ server: newer, handleProtocols: (offered) => offered.values().next().value ?? false });
    wss.on('connection', (ws) => ws.close(4002, 'unsupported protocol; this server speaks imbed.v2'));
    newer.listen(0, '127.0.0.1');
    await once(newer, 'listening');
  });
  after(async () => {
    wss?.close();
    newer?.close();
    await s.dispose();
  });

  it('stops after one attempt, says the chat is unavailable, and never reconnects', async () => {
    const { port } = newer.address() as { port: number };
    const page = await openClient(s, 'alice', {
      ws: `ws://127.0.0.1:${port}/ws`,
      options: { minReconnectDelay: 50, maxReconnectDelay: 200 },
    });
    await until(async () => (await stateOf(page)) === 'stopped', 'the client to stop');
    await sleep(QUIET_MS);

    assert.equal(upgrades, 1, 'exactly one connection attempt');
    assert.equal(await stateOf(page), 'stopped', 'still stopped after the quiet period');
    const stops = (await statesOf(page)).filter((c) => c.to === 'stopped');
    assert.deepEqual(stops.map((c) => c.code), [4002], 'stopped once, for the 4002 close');
    const status = await page.locator('imbed-chat [part~="banner-status"]').textContent();
    assert.match(status ?? '', /^Chat unavailable/, 'the banner says the chat is unavailable');
    assert.equal(await page.locator('imbed-chat [part~="banner-retry"]').count(), 0, 'no "Retry now" that could start a loop');
    await s.assertConsistent([page], {});
  });
});
