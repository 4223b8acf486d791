/**
 * The server under hostile input: at least 10,000 generated frames (see `fuzz-frames.ts`) from dozens
 * of concurrent connections, while one well-behaved client chats on the side.
 *
 * Every frame must get the outcome protocol.md promises: its answer, a coded `error`, a coded close, or
 * nothing for an unknown type. Connections that get closed are replaced so the fuzz keeps going. After
 * it the server must still be up and serving, its log consistent, its memory bounded, and the side
 * client must have had every send acknowledged in order and every ping answered.
 *
 * The server runs in a child process (the CLI from source, through tsx): its RSS is then the server's
 * alone, a crash shows as an exit instead of taking the test down, and the current sources are tested
 * without a build step. Latencies are printed, never asserted: speed goals live in benchmarks
 * (`bench/fuzz.ts`).
 *
 * Replay a run: IMBED_FUZZ_SEED=<seed printed by the test>. IMBED_FUZZ_FRAMES changes the frame count.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { ServerFrame } from '../../src/protocol/index.ts';
import { FuzzConnection, fuzzReport, makeTokens, measuredFuzz, replayHint } from './fuzz-run.ts';
import { cliPort, runCli, SECRET, tempDb, type CliProcess } from './helpers.ts';

const SEED = process.env.IMBED_FUZZ_SEED ? Number(process.env.IMBED_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const FRAMES = Number(process.env.IMBED_FUZZ_FRAMES ?? 10_000);
/** Fuzzing connections open at once; each one closed is replaced. */
const WORKERS = 32;
/** RSS growth of the server process over the fuzz that counts as unbounded. */
const MAX_RSS_GROWTH_MB = 150;
const SIDE_CONV = 'side-lane';

describe('server fuzz: hostile frames from many connections', () => {
  const tmp = tempDb();
  let proc: CliProcess;
  let port = 0;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    // Production limits, except that conversations need no admin API to exist, the side client may
    // send its ten messages a second, and the forged tokens and bad hellos of every worker, all from
    // 127.0.0.1, do not get that address's connections refused at open (limits.test.ts tests that).
    proc = runCli(['--port', '0', '--db', tmp.db, '--access', 'open', '--messages-per-minute', '1200', '--refusals-per-ip', '0'], { IMBED_SECRET: SECRET });
    port = await cliPort(proc);
  });
  after(() => {
    process.off('uncaughtException', onUncaught);
    proc.child.kill('SIGKILL');
    tmp.remove();
  });

  it('answers every frame with its documented outcome, stays up and bounded, and keeps serving a well-behaved client', async () => {
    console.log(`fuzz seed ${SEED} (${replayHint(SEED)}), ${FRAMES} frames, ${WORKERS} connections at once`);
    const url = `ws://127.0.0.1:${port}/ws`;
    // User ids that are also Object.prototype keys, in case any map of the server is a plain object.
    const users = Array.from({ length: WORKERS }, (_, w) => (w === 0 ? '__proto__' : w === 1 ? 'constructor' : `fuzz-${w}`));
    const tokens = await makeTokens(SECRET, [...users, 'side']);

    const measured = await measuredFuzz({ url, pid: proc.child.pid!, seed: SEED, frames: FRAMES, users, tokens, sideToken: tokens.at(-1)!.good, sideConv: SIDE_CONV, baselineMs: 2500 });
    console.log(fuzzReport(measured));
    const { fuzz, side: sideReport, rss } = measured;

    assert.deepEqual(uncaught, [], 'no uncaught exception in the test process');
    assert.deepEqual(fuzz.problems, [], `every frame got its documented outcome (${replayHint(SEED)})`);
    assert.ok(fuzz.frames >= FRAMES, `sent ${fuzz.frames} frames`);
    assert.equal(proc.child.exitCode, null, `the server process is still running:\n${proc.stderr}`);
    assert.doesNotMatch(proc.stdout, /failed on a frame/, 'no frame made a handler throw');
    assert.ok(rss.peak - rss.before < MAX_RSS_GROWTH_MB, `server RSS grew by ${(rss.peak - rss.before).toFixed(1)} MB (bound ${MAX_RSS_GROWTH_MB})`);
    assert.deepEqual(sideReport.issues, [], 'the side client was served normally');
    assert.ok(sideReport.answeredAll, 'every send and ping of the side client was answered');
    assert.ok(sideReport.latency.during.send.length > 0 && sideReport.latency.during.ping.length > 0, 'the side client kept chatting during the fuzz');

    // Still up: health, and a fresh client says hello, sends and syncs.
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const fresh = new FuzzConnection(url, new Map(), (text) => assert.fail(text));
    assert.ok(await fresh.opened);
    fresh.ws.send(JSON.stringify({ type: 'hello', token: tokens[2]!.good, convs: [{ conv: 'fuzz-a', after: 0 }] }));
    fresh.ws.send(JSON.stringify({ type: 'send', conv: 'after-fuzz', cmid: `after-fuzz-${SEED}`, text: 'still here' }));
    fresh.ws.send(JSON.stringify({ type: 'sync', conv: 'after-fuzz', after: 0, ref: 'after' }));
    assert.ok(await fresh.until(() => fresh.hasAnswer('after'), 5000));
    const answers = fresh.takeAnswers();
    assert.deepEqual(answers.map((f) => f.type), ['welcome', 'sent', 'history'], JSON.stringify(answers));
    const history = answers[2] as Extract<ServerFrame, { type: 'history' }>;
    assert.deepEqual(history.msgs.map((m) => [m.seq, m.text, m.from]), [[1, 'still here', users[2]]]);
    fresh.ws.close(1000);

    // A clean shutdown, then the log read straight from SQLite.
    const exited = proc.exited;
    proc.child.kill('SIGTERM');
    assert.equal((await exited).code, 0, 'the server shuts down cleanly');
    const db = new Database(tmp.db, { readonly: true });
    try {
      type Row = { conv: string; seq: number; sender: string; cmid: string; text: string };
      const rows = db.prepare('SELECT conv, seq, sender, cmid, text FROM messages ORDER BY conv, seq').all() as Row[];
      const heads = new Map((db.prepare('SELECT id, head FROM conversations').all() as Array<{ id: string; head: number }>).map((r) => [r.id, r.head]));
      const seqs = new Map<string, number[]>();
      for (const row of rows) {
        seqs.set(row.conv, [...(seqs.get(row.conv) ?? []), row.seq]);
        if (row.conv === SIDE_CONV) assert.equal(row.sender, 'side');
        if (row.conv === SIDE_CONV || row.conv === 'after-fuzz') continue;
        // The sender comes from the token (never a `from` in the frame) and only valid sends are stored.
        const candidates = fuzz.candidates.get(`${row.sender} ${row.cmid}`) ?? [];
        assert.ok(candidates.some((c) => c.conv === row.conv && c.text === row.text), `stored only as sent by a valid send: ${JSON.stringify(row).slice(0, 300)}`);
      }
      for (const [conv, list] of seqs) {
        assert.deepEqual(list, list.map((_, i) => i + 1), `seq of ${conv} is 1..N without gaps`);
        assert.equal(heads.get(conv), list.length, `head of ${conv}`);
      }
      for (const [key, { conv, seq }] of fuzz.acked) {
        const [sender, cmid] = key.split(' ') as [string, string];
        assert.ok(rows.some((r) => r.sender === sender && r.cmid === cmid && r.conv === conv && r.seq === seq), `acked ${key} is stored as ${conv}#${seq}`);
      }
      assert.equal(seqs.get(SIDE_CONV)?.length, sideReport.acked, 'every acked side message is stored, and nothing else there');
      console.log(`log: ${rows.length} messages in ${seqs.size} conversations, ${fuzz.acked.size} acked to the fuzz`);
    } finally {
      db.close();
    }
  });
});
