/**
 * The end of a chaos run: compares what each user queued with the server's log and with what every
 * client holds and renders, and counts what broke the promise (lost, duplicated, reordered). Pure, so
 * each rule can be read and tested without a browser.
 */
import type { ClientSnapshot } from './chaos-client.ts';

/** One row of the server's `messages` table for the run's conversation. */
export interface StoredMessage {
  seq: number;
  cmid: string;
  sender: string;
  text: string;
}

export interface Verdict {
  /** Queued (durably in an outbox) but never stored by the server. */
  lost: number;
  /** Extra copies of a text in the server's log (the cmid dedupe should make this impossible). */
  duplicated: number;
  /** Messages stored before one the same sender queued earlier. */
  reordered: number;
  /** Every broken rule, one sentence each; empty when the run kept every promise. */
  problems: string[];
}

/** The text a chaos run sends as `user`'s `index`-th message (1-based), e.g. `c2#0042`. */
export function chaosText(user: string, index: number): string {
  return `${user}#${String(index).padStart(4, '0')}`;
}

function parseText(text: string): { user: string; index: number } | null {
  const m = /^(.+)#(\d+)$/.exec(text);
  return m ? { user: m[1]!, index: Number(m[2]) } : null;
}

/** Shows at most a few examples of a list in a problem sentence. */
function some(list: readonly unknown[], max = 5): string {
  const shown = list.slice(0, max).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  return list.length > max ? `${shown}, … (${list.length} in all)` : shown;
}

/**
 * Judges a run: `queued` holds each user's texts in the order their sends resolved, `expected` the
 * number of messages the run meant to send, `log` the server's log by seq, `clients` what each holds.
 */
export function judge(queued: ReadonlyMap<string, readonly string[]>, expected: number, log: readonly StoredMessage[], clients: readonly ClientSnapshot[]): Verdict {
  const problems: string[] = [];
  const allQueued = [...queued.values()].flat();
  if (allQueued.length !== expected) problems.push(`${allQueued.length} messages queued, ${expected} meant`);

  const gaps = log.filter((m, i) => m.seq !== i + 1);
  if (gaps.length > 0) problems.push(`seq does not run 1..N: first off at seq ${gaps[0]!.seq}`);
  if (new Set(log.map((m) => m.cmid)).size !== log.length) problems.push('a cmid is stored more than once');
  if (log.length !== expected) problems.push(`the server stored ${log.length} messages, ${expected} were sent`);

  const stored = new Map<string, number>();
  for (const m of log) stored.set(m.text, (stored.get(m.text) ?? 0) + 1);
  const lostTexts = allQueued.filter((t) => !stored.has(t));
  const dupTexts = [...stored].filter(([, n]) => n > 1);
  const duplicated = dupTexts.reduce((sum, [, n]) => sum + n - 1, 0);
  if (lostTexts.length > 0) problems.push(`lost: ${some(lostTexts)}`);
  if (dupTexts.length > 0) problems.push(`stored more than once: ${some(dupTexts.map(([t, n]) => `${t} x${n}`))}`);
  const known = new Set(allQueued);
  const strangers = log.filter((m) => !known.has(m.text));
  if (strangers.length > 0) problems.push(`stored but never queued: ${some(strangers.map((m) => `seq ${m.seq} ${m.text}`))}`);
  const misattributed = log.filter((m) => parseText(m.text)?.user !== m.sender);
  if (misattributed.length > 0) problems.push(`stored under another sender: ${some(misattributed.map((m) => `${m.text} as ${m.sender}`))}`);

  // Per sender, the first stored copy of each message must follow queue order.
  let reordered = 0;
  for (const [user, texts] of queued) {
    const position = new Map(texts.map((t, i) => [t, i]));
    const seen = new Set<string>();
    let last = -1;
    const outOfOrder: string[] = [];
    for (const m of log) {
      if (m.sender !== user || seen.has(m.text) || !position.has(m.text)) continue;
      seen.add(m.text);
      const at = position.get(m.text)!;
      if (at < last) outOfOrder.push(m.text);
      last = Math.max(last, at);
    }
    reordered += outOfOrder.length;
    if (outOfOrder.length > 0) problems.push(`${user}'s messages out of order: ${some(outOfOrder)}`);
  }

  const want = log.map((m) => ({ cmid: m.cmid, status: 'sent', seq: m.seq, text: m.text }));
  const same = (a: readonly { cmid: string; status: string; seq: number | null; text: string }[]) =>
    a.length === want.length && a.every((x, i) => x.cmid === want[i]!.cmid && x.status === want[i]!.status && x.seq === want[i]!.seq && x.text === want[i]!.text);
  for (const c of clients) {
    if (!same(c.items)) problems.push(`${c.user}'s items differ from the server's log (${describeDiff(c.items, want)})`);
    if (!same(c.rendered)) problems.push(`${c.user}'s rendered list differs from the server's log (${describeDiff(c.rendered, want)})`);
    if (c.outbox.length > 0) problems.push(`${c.user}'s IndexedDB outbox still holds ${c.outbox.length}: ${some(c.outbox.map((o) => `${o.text} ${o.status}`))}`);
    const fatal = c.errors.filter((e) => e.fatal);
    if (fatal.length > 0) problems.push(`${c.user} stopped on a fatal error: ${some(fatal.map((e) => `${e.code} ${e.message}`))}`);
  }
  return { lost: lostTexts.length, duplicated, reordered, problems };
}

function describeDiff(got: readonly { cmid: string; status: string; seq: number | null; text: string }[], want: readonly { cmid: string; seq: number | null; text: string }[]): string {
  const notSent = got.filter((x) => x.status !== 'sent').length;
  const i = got.findIndex((x, k) => want[k] === undefined || x.cmid !== want[k]!.cmid || x.seq !== want[k]!.seq || x.text !== want[k]!.text || x.status !== 'sent');
  const first = i < 0 ? `length ${got.length} vs ${want.length}` : `first difference at #${i + 1}: ${JSON.stringify(got[i])} vs ${JSON.stringify(want[i] ?? null)}`;
  return `${got.length} items, ${notSent} not sent; ${first}`;
}
