import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { ImbedServer } from '../../src/server/index.ts';
import { Outbound, TextFrame } from '../../src/server/outbound.ts';
import { newCmid, openSession, startServer, tempDb } from './helpers.ts';

/** Decodes back-to-back unmasked server frames: [opcode with FIN, payload] each. */
function parseFrames(wire: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let at = 0;
  while (at < wire.length) {
    let length = wire[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      length = wire.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(wire.readBigUInt64BE(at + 2));
      header = 10;
    }
    out.push([wire[at]!, wire.subarray(at + header, at + header + length).toString()]);
    at += header + length;
  }
  return out;
}

describe('TextFrame', () => {
  it('frames a text as one final text frame, with the 7-bit, 16-bit and 64-bit length forms', () => {
    for (const text of ['', 'é'.repeat(62), 'x'.repeat(126), 'y'.repeat(70_000)]) {
      const frame = TextFrame.of(text);
      assert.deepEqual(parseFrames(frame.wire), [[0x81, text]]);
      assert.deepEqual(frame.payloads.map(String), [text]);
    }
  });

  it('puts frames back to back in one buffer, keeping each payload', () => {
    const texts = ['{"a":1}', 'z'.repeat(300), '{"b":"ü"}'];
    const frame = TextFrame.concat(texts.map((t) => TextFrame.of(t)));
    assert.deepEqual(parseFrames(frame.wire), texts.map((t) => [0x81, t]));
    assert.deepEqual(frame.payloads.map(String), texts);
  });
});

describe('Outbound', () => {
  it('sends each payload through ws when an extension was negotiated, since ws may hold frames back then', () => {
    const calls: Array<[string, unknown]> = [];
    const ws = { extensions: 'permessage-deflate', _socket: {}, send: (data: Buffer, options: unknown) => void calls.push([String(data), options]) };
    new Outbound().write(ws as unknown as WebSocket, TextFrame.concat([TextFrame.of('one'), TextFrame.of('two')]));
    assert.deepEqual(calls, [['one', { binary: false }], ['two', { binary: false }]]);
  });
});

describe('fan-out', () => {
  const tmp = tempDb();
  let server: ImbedServer;

  before(async () => {
    server = await startServer(tmp.db);
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('delivers a message to every member as the same bytes, a text frame of the msg', async () => {
    const conv = 'fanout-bytes';
    const sender = (await openSession(server, 'alice', [{ conv, after: 0 }], { name: 'Ålice' })).client;
    const members = await Promise.all(['bob', 'carol', 'dave', 'alice'].map(async (user) => (await openSession(server, user, [{ conv, after: 0 }])).client));
    const raw = members.map(() => [] as Array<{ data: Buffer; isBinary: boolean }>);
    members.forEach((m, i) => m.ws.on('message', (data: Buffer, isBinary) => raw[i]!.push({ data, isBinary })));
    const cmid = newCmid();
    sender.send({ type: 'send', conv, cmid, text: 'the same for all: ünïcödé ✓' });
    const sent = await sender.next('sent');
    await Promise.all(members.map((m) => m.next('msg')));
    const expected = { type: 'msg', conv, seq: sent.seq, cmid, from: 'alice', name: 'Ålice', text: 'the same for all: ünïcödé ✓', ts: sent.ts };
    for (const got of raw) {
      assert.equal(got.length, 1);
      assert.equal(got[0]!.isBinary, false);
      assert.deepEqual(JSON.parse(got[0]!.data.toString()), expected);
      assert.ok(got[0]!.data.equals(raw[0]![0]!.data), 'byte-identical');
    }
    await Promise.all([sender, ...members].map((c) => c.close()));
  });
});
