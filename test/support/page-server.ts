/**
 * The static site end-to-end tests load their host pages from: a few fixed paths on `localhost`, so the
 * chat server (127.0.0.1) is another site, as it is for a page that embeds imbed from its own domain.
 */
import { createServer } from 'node:http';

/** What one path answers: `body` as `type` (default HTML), with any extra `headers`, never cached. */
export interface Served {
  body: string;
  type?: string;
  headers?: Record<string, string>;
}

/** A fixed answer, or one made per request from its URL (query string included). */
export type Route = Served | ((url: URL) => Served | Promise<Served>);

export interface PageServer {
  /** The site's origin, `http://localhost:<port>`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `routes` (path -> answer, matched on the path without the query) on localhost, port 0, and 404
 * for anything else. Resolves once listening with the site's origin and a `close()` that stops it.
 */
export async function servePages(routes: Record<string, Route>): Promise<PageServer> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://host');
    const route = routes[url.pathname];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const { body, type = 'text/html; charset=utf-8', headers } = typeof route === 'function' ? await route(url) : route;
    res.writeHead(200, { ...headers, 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise((resolve) => {
        // Idle keep-alive connections of a browser would otherwise hold the close back.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
