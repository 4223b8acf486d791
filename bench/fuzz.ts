/**
 * The server fuzz (`test/server/fuzz.test.ts`) as a benchmark: how a well-behaved client's round trips
 * change while dozens of connections throw hostile frames at the server, and how the server's memory
 * and CPU fare. The checks of every frame's outcome still run; the test asserts them, this prints.
 *
 * The server is the CLI from source (through tsx) in its own process, on a temp SQLite file, with
 * production limits except `--access open` and 1200 messages a minute (so the side client may send
 * one message every 100 ms).
 *
 * Usage: node --import tsx bench/fuzz.ts [--frames 50000] [--workers 32] [--seed N] [--baseline 3000]
 * Exit code 1 when a frame got an outcome protocol.md does not promise.
 */
import { parseArgs } from 'node:util';
import { fuzzReport, makeTokens, measuredFuzz, replayHint } from '../test/server/fuzz-run.ts';
import { cliPort, runCli, SECRET, tempDb } from '../test/server/helpers.ts';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '32' },
    seed: { type: 'string', default: String(Math.floor(Math.random() * 2 ** 31)) },
    baseline: { type: 'string', default: '3000' },
  },
});
const frames = Number(values.frames);
const workers = Number(values.workers);
const seed = Number(values.seed);

const tmp = tempDb();
// As test/server/fuzz.test.ts: the workers' refused hellos, all from one address, must not get it refused at open.
const proc = runCli(['--port', '0', '--db', tmp.db, '--access', 'open', '--messages-per-minute', '1200', '--refusals-per-ip', '0'], { IMBED_SECRET: SECRET });
let failed = false;
try {
  const port = await cliPort(proc);
  const users = Array.from({ length: workers }, (_, w) => `fuzz-${w}`);
  const tokens = await makeTokens(SECRET, [...users, 'side']);
  console.log(`seed ${seed}, ${frames} frames, ${workers} connections at once`);
  const measured = await measuredFuzz({
    url: `ws://127.0.0.1:${port}/ws`,
    pid: proc.child.pid!,
    seed,
    frames,
    users,
    tokens,
    sideToken: tokens.at(-1)!.good,
    sideConv: 'side-lane',
    baselineMs: Number(values.baseline),
  });
  console.log(fuzzReport(measured));
  const { fuzz, side } = measured;
  if (proc.child.exitCode !== null) console.log(`FAIL: the server exited:\n${proc.stderr}`);
  for (const p of fuzz.problems.slice(0, 5)) console.log(`FAIL: ${p}`);
  for (const issue of side.issues.slice(0, 5)) console.log(`FAIL: side client: ${issue}`);
  failed = proc.child.exitCode !== null || fuzz.problems.length > 0 || side.issues.length > 0 || !side.answeredAll;
  if (failed) console.log(replayHint(seed));
} finally {
  proc.child.kill('SIGKILL');
  tmp.remove();
}
process.exit(failed ? 1 : 0);
