/**
 * Real Chromium for Node-side end-to-end tests (playwright-core driving the system Chromium), and a
 * static host page on its own origin that embeds imbed with a script tag, as a customer's site would.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';
import { servePages, type PageServer, type Served } from './page-server.ts';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * Serves `/embed.html?user=U&conv=C` on its own port: a host page that loads `imbed.js` from the chat
 * server (another origin), gets a token from its own backend (`/token`, signed with the shared secret,
 * as a customer's backend would), and mounts `<imbed-chat>`.
 */
export async function startHostSite(
  chatHttpUrl: string,
  signToken: (user: string) => Promise<string>,
): Promise<PageServer> {
  const wsUrl = chatHttpUrl.replace(/^http/, 'ws') + '/ws';
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A customer's page</title>
<script src="${chatHttpUrl}/imbed.js"></script>
<style>imbed-chat { height: 480px; }</style></head>
<body><h1>Shop</h1><div id="slot"></div>
<script type="module">
  const params = new URLSearchParams(location.search);
  const user = params.get('user');
  const res = await fetch('/token?user=' + encodeURIComponent(user));
  const { token } = await res.json();
  const chat = document.createElement('imbed-chat');
  chat.setAttribute('server', '${wsUrl}');
  chat.setAttribute('conversation', params.get('conv'));
  chat.setAttribute('token', token);
  document.getElementById('slot').append(chat);
</script></body></html>`;
  return servePages({
    '/token': tokenRoute(signToken),
    '/embed.html': { body: page },
  });
}

/** A host backend's `/token?user=U`: the user's token as JSON, signed as a customer's backend would. */
export function tokenRoute(signToken: (user: string) => Promise<string>): (url: URL) => Promise<Served> {
  return async (url) => ({
    type: 'application/json',
    body: JSON.stringify({ token: await signToken(url.searchParams.get('user') ?? 'anonymous') }),
  });
}

/** One rendered message line of the `<imbed-chat>` on a page. */
export interface RenderedMessage {
  cmid: string;
  status: string;
  seq: number | null;
  text: string;
}

/**
 * What the person sees, scrolling through the page's `<imbed-chat>` up to the first message and back. The
 * client holds only the newest page after a reload, so older pages are loaded first, as scrolling up
 * does; the list is virtualised (only the nodes around the viewport exist), so this is the client's items,
 * checked against the nodes: when the nodes are not exactly a run of those items, the nodes are returned
 * as they are, and a comparison with the server's log fails.
 */
export async function renderedMessages(page: Page): Promise<RenderedMessage[]> {
  return page.evaluate(async () => {
    type Client = { items(conv: string): RenderedMessage[]; loadOlder(conv: string): Promise<boolean> };
    const chat = document.querySelector('imbed-chat') as (HTMLElement & { conversation: string; client: Client | null; updateComplete: Promise<unknown> }) | null;
    const root = chat?.shadowRoot;
    if (!chat || !root) return [];
    while (chat.client && (await chat.client.loadOlder(chat.conversation)));
    await chat.updateComplete;
    const nodes = [...root.querySelectorAll<HTMLElement>('[part~="message"]')].map((node) => ({
      cmid: node.dataset.cmid ?? '',
      status: node.dataset.status ?? '',
      seq: node.dataset.seq ? Number(node.dataset.seq) : null,
      text: node.querySelector('[part~="text"]')?.textContent ?? '',
    }));
    const items = (chat.client?.items(chat.conversation) ?? []).map(({ cmid, status, seq, text }) => ({ cmid, status, seq, text }));
    const at = items.findIndex((item) => item.cmid === nodes[0]?.cmid);
    const run = nodes.every((node, i) => JSON.stringify(node) === JSON.stringify(items[at + i]));
    return nodes.length > 0 && at >= 0 && run ? items : nodes;
  });
}

/** Polls `check` every 50 ms until it returns true; fails with `what` after `timeout` ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 30_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
