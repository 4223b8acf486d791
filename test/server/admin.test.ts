import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createImbedServer, type ImbedServer } from '../../src/server/index.ts';
import { createAdminHandler, MAX_ADMIN_BODY } from '../../src/server/admin.ts';
import { Store } from '../../src/server/store.ts';
import { SECRET, startServer, tempDb } from './helpers.ts';

const ADMIN = 'admin-test-secret-of-at-least-32-bytes';

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}

async function call(base: string, method: string, path: string, opts: { body?: string; secret?: string | null } = {}): Promise<Answer> {
  const secret = opts.secret === undefined ? ADMIN : opts.secret;
  const res = await fetch(`${base}/admin/v1/${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(secret !== null && { Authorization: `Bearer ${secret}` }) },
    ...(opts.body !== undefined && { body: opts.body }),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

describe('admin API', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let base: string;
  const api = (method: string, path: string, body?: unknown, secret?: string | null) =>
    call(base, method, path, { ...(body !== undefined && { body: JSON.stringify(body) }), ...(secret !== undefined && { secret }) });

  before(async () => {
    server = await startServer(tmp.db, { access: 'members', adminSecret: ADMIN });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  describe('authorization', () => {
    it('answers 401 with a coded error and WWW-Authenticate without the header', async () => {
      const res = await api('GET', 'conversations/any', undefined, null);
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, 'UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    it('answers 401 to a wrong secret, including one of another length or a prefix of the right one', async () => {
      for (const secret of ['wrong', ADMIN.slice(0, -1), `${ADMIN}x`, '']) {
        const res = await api('POST', 'conversations', { kind: 'group', members: [] }, secret);
        assert.equal(res.status, 401, `secret ${JSON.stringify(secret)}`);
      }
    });

    it('answers 401 before saying whether a route exists', async () => {
      assert.equal((await api('GET', 'no/such/route', undefined, 'wrong')).status, 401);
    });
  });

  describe('POST /conversations', () => {
    it('creates a group with a title and members, answering 201 with the conversation', async () => {
      const res = await api('POST', 'conversations', { id: 'team-1', kind: 'group', title: 'Team', members: ['bob', 'alice', 'bob'] });
      assert.equal(res.status, 201);
      const { conversation } = res.json;
      assert.deepEqual({ ...conversation, createdAt: 0 }, { id: 'team-1', kind: 'group', title: 'Team', createdAt: 0, members: ['alice', 'bob'] });
      assert.ok(Number.isSafeInteger(conversation.createdAt));
    });

    it('generates an id that is a valid conversation id when none is given', async () => {
      const res = await api('POST', 'conversations', { kind: 'group', members: ['alice'] });
      assert.equal(res.status, 201);
      assert.match(res.json.conversation.id, /^[A-Za-z0-9_.:-]{1,128}$/);
      assert.equal((await api('GET', `conversations/${res.json.conversation.id}`)).status, 200);
    });

    it('answers 409 CONVERSATION_EXISTS for an id created before, changing nothing', async () => {
      await api('POST', 'conversations', { id: 'twice', kind: 'group', members: ['alice'] });
      const res = await api('POST', 'conversations', { id: 'twice', kind: 'group', members: ['mallory'] });
      assert.deepEqual([res.status, res.json.error.code], [409, 'CONVERSATION_EXISTS']);
      assert.deepEqual((await api('GET', 'conversations/twice')).json.conversation.members, ['alice']);
    });

    it('requires exactly two different members for a direct conversation', async () => {
      for (const members of [['alice'], ['alice', 'alice'], ['alice', 'bob', 'carol']]) {
        const res = await api('POST', 'conversations', { kind: 'direct', members });
        assert.deepEqual([res.status, res.json.error.code], [400, 'BAD_REQUEST'], JSON.stringify(members));
        assert.match(res.json.error.message, /members/);
      }
      assert.equal((await api('POST', 'conversations', { kind: 'direct', members: ['alice', 'bob'] })).status, 201);
    });

    it('answers 400 naming the field for each invalid one', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ kind: 'room', members: [] }, /`kind`/],
        [{ members: [] }, /`kind`/],
        [{ id: 'has space', kind: 'group' }, /`id`/],
        [{ id: 'x'.repeat(129), kind: 'group' }, /`id`/],
        [{ id: 7, kind: 'group' }, /`id`/],
        [{ kind: 'group', title: 5 }, /`title`/],
        [{ kind: 'group', title: 't'.repeat(201) }, /`title`/],
        [{ kind: 'group', members: 'alice' }, /`members`/],
        [{ kind: 'group', members: ['ok', 'bad user'] }, /`members\[1\]`/],
        [{ kind: 'group', members: [42] }, /`members\[0\]`/],
      ];
      for (const [body, field] of cases) {
        const res = await api('POST', 'conversations', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.json.error.code, 'BAD_REQUEST');
        assert.match(res.json.error.message, field);
      }
    });

    it('answers 400 to . and .. as the id or a member, which no admin path can name to read or remove', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ id: '.', kind: 'group', members: ['alice'] }, /`id`/],
        [{ id: '..', kind: 'group', members: ['alice'] }, /`id`/],
        [{ id: 'dots-member', kind: 'group', members: ['alice', '.'] }, /`members\[1\]`/],
        [{ id: 'dots-direct', kind: 'direct', members: ['..', 'alice'] }, /`members\[0\]`/],
      ];
      for (const [body, field] of cases) {
        const res = await api('POST', 'conversations', body);
        assert.deepEqual([res.status, res.json.error.code], [400, 'BAD_REQUEST'], JSON.stringify(body));
        assert.match(res.json.error.message, field);
        assert.match(res.json.error.message, /not \. or \.\./);
      }
      for (const id of ['dots-member', 'dots-direct']) assert.equal((await api('GET', `conversations/${id}`)).status, 404, id);
      // Only the two dot segments: ids with dots in them are paths like any other.
      const dotted = await api('POST', 'conversations', { id: '...', kind: 'group', members: ['a.b', '...'] });
      assert.equal(dotted.status, 201);
      assert.equal((await api('DELETE', 'conversations/.../members/...')).json.changed, true);
    });

    it('answers 400 BAD_JSON to a body that is not JSON or not an object', async () => {
      for (const body of ['{"kind":', 'null', '[1]', '"group"', '']) {
        const res = await call(base, 'POST', 'conversations', { body });
        assert.deepEqual([res.status, res.json.error.code], [400, 'BAD_JSON'], body);
      }
    });

    it('takes the largest conversation its field rules allow: 1000 members of 128 characters', async () => {
      const members = Array.from({ length: 1000 }, (_, i) => `member-${i}-`.padEnd(128, 'x'));
      const body = JSON.stringify({ id: 'c'.repeat(128), kind: 'group', title: '\u{1F4AC}'.repeat(100), members }, null, 2);
      assert.ok(Buffer.byteLength(body) > 128 * 1024, 'more than the former limit');
      const res = await call(base, 'POST', 'conversations', { body });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.conversation.members.length, 1000);
    });

    it('answers 413 to a body over the limit and stores nothing', async () => {
      const members = Array.from({ length: Math.ceil(MAX_ADMIN_BODY / 16) }, (_, i) => `user-${i}-${'x'.repeat(8)}`);
      const body = JSON.stringify({ id: 'huge', kind: 'group', members });
      assert.ok(Buffer.byteLength(body) > MAX_ADMIN_BODY);
      const res = await call(base, 'POST', 'conversations', { body });
      assert.deepEqual([res.status, res.json.error.code], [413, 'BODY_TOO_LARGE']);
      assert.equal((await api('GET', 'conversations/huge')).status, 404);
    });

    it('answers 413 to a chunked body (no Content-Length) once it passes the limit', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${base}/admin/v1/conversations`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write('{"kind":"group","title":"');
        req.write('x'.repeat(MAX_ADMIN_BODY));
        req.end('"}');
      });
      assert.equal(status, 413);
    });
  });

  describe('members', () => {
    before(async () => {
      await api('POST', 'conversations', { id: 'club', kind: 'group', members: ['alice'] });
      await api('POST', 'conversations', { id: 'dm', kind: 'direct', members: ['alice', 'bob'] });
    });

    it('adds a member with PUT, and a second PUT changes nothing', async () => {
      const first = await api('PUT', 'conversations/club/members/bob');
      assert.equal(first.status, 200);
      assert.deepEqual([first.json.changed, first.json.conversation.members], [true, ['alice', 'bob']]);
      const again = await api('PUT', 'conversations/club/members/bob');
      assert.deepEqual([again.status, again.json.changed, again.json.conversation.members], [200, false, ['alice', 'bob']]);
    });

    it('removes a member with DELETE, and a second DELETE changes nothing', async () => {
      await api('PUT', 'conversations/club/members/carol');
      const first = await api('DELETE', 'conversations/club/members/carol');
      assert.deepEqual([first.status, first.json.changed], [200, true]);
      assert.equal(first.json.conversation.members.includes('carol'), false);
      const again = await api('DELETE', 'conversations/club/members/carol');
      assert.deepEqual([again.status, again.json.changed], [200, false]);
    });

    it('accepts percent-encoded user ids such as emails and Auth0 subjects', async () => {
      const res = await api('PUT', `conversations/club/members/${encodeURIComponent('auth0|abc@example.com')}`);
      assert.equal(res.status, 200);
      assert.ok(res.json.conversation.members.includes('auth0|abc@example.com'));
    });

    it('refuses a third member of a direct conversation with 409, but takes one back after a removal', async () => {
      const full = await api('PUT', 'conversations/dm/members/carol');
      assert.deepEqual([full.status, full.json.error.code], [409, 'DIRECT_FULL']);
      assert.equal((await api('PUT', 'conversations/dm/members/bob')).status, 200, 'an existing member is not a third one');
      assert.equal((await api('DELETE', 'conversations/dm/members/bob')).status, 200);
      const res = await api('PUT', 'conversations/dm/members/carol');
      assert.deepEqual([res.status, res.json.conversation.members], [200, ['alice', 'carol']]);
    });

    it('answers 404 for members of an unknown conversation', async () => {
      for (const method of ['PUT', 'DELETE']) {
        const res = await api(method, 'conversations/ghost/members/alice');
        assert.deepEqual([res.status, res.json.error.code], [404, 'NOT_FOUND'], method);
      }
    });

    it('answers 400 to invalid conversation and user ids, and to undecodable percent-encoding', async () => {
      for (const path of ['conversations/bad%20id/members/alice', 'conversations/club/members/bad%20user', `conversations/club/members/${'u'.repeat(129)}`, 'conversations/club/members/%E0%A4%A', 'conversations/%ZZ']) {
        const method = path.includes('/members/') ? 'PUT' : 'GET';
        const res = await api(method, path);
        assert.deepEqual([res.status, res.json.error.code], [400, 'BAD_REQUEST'], path);
      }
    });
  });

  describe('reading', () => {
    it('GET /conversations/:id answers the conversation, and 404 for an unknown or only-messaged one', async () => {
      await api('POST', 'conversations', { id: 'readme', kind: 'group', title: null, members: ['zoe'] });
      const res = await api('GET', 'conversations/readme');
      assert.equal(res.status, 200);
      assert.deepEqual([res.json.conversation.id, res.json.conversation.kind, res.json.conversation.title, res.json.conversation.members], ['readme', 'group', null, ['zoe']]);
      assert.deepEqual([(await api('GET', 'conversations/never')).status], [404]);
    });

    it('GET /users/:user/conversations lists the conversations of a member, by id', async () => {
      await api('POST', 'conversations', { id: 'u-b', kind: 'group', members: ['yuri'] });
      await api('POST', 'conversations', { id: 'u-a', kind: 'direct', members: ['yuri', 'xena'] });
      const res = await api('GET', 'users/yuri/conversations');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.conversations.map((c: { id: string; kind: string }) => [c.id, c.kind]), [['u-a', 'direct'], ['u-b', 'group']]);
      assert.deepEqual((await api('GET', 'users/nobody/conversations')).json.conversations, []);
    });
  });

  describe('routing', () => {
    it('answers 404 NOT_FOUND to an unknown admin route', async () => {
      for (const path of ['', 'nope', 'conversations/a/b', 'conversations/a/members', 'conversations/a/members/b/c']) {
        const res = await api('GET', path);
        assert.deepEqual([res.status, res.json.error.code], [404, 'NOT_FOUND'], path);
      }
    });

    it('answers 405 with Allow to a method a route does not take', async () => {
      const cases: Array<[string, string, string]> = [
        ['GET', 'conversations', 'POST'],
        ['DELETE', 'conversations/x', 'GET'],
        ['POST', 'conversations/x/members/y', 'PUT, DELETE'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await api(method, path);
        assert.deepEqual([res.status, res.json.error.code, res.headers.get('allow')], [405, 'METHOD_NOT_ALLOWED', allow], `${method} ${path}`);
      }
    });

    it('leaves the other routes of the server alone', async () => {
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 200);
    });

    it('takes only a path that names the API as sent, not one that leads there once resolved', async () => {
      // Raw requests: fetch would resolve the path itself. A proxy rule guarding /admin/ sees these paths.
      // Each resolves to a route that answers 200 (asked as sent, below).
      for (const path of ['/admin\\v1\\users/alice/conversations', '/x/../admin/v1/users/alice/conversations', '/admin/v1/%2e%2e/v1/users/alice/conversations', '/admin/v1/./users/alice/conversations']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: server.port, path, headers: { Authorization: `Bearer ${ADMIN}` } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 404, path);
      }
      assert.equal((await api('GET', 'users/alice/conversations')).status, 200);
    });
  });
});

describe('admin API without a secret', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let saved: string | undefined;

  before(async () => {
    saved = process.env.IMBED_ADMIN_SECRET;
    delete process.env.IMBED_ADMIN_SECRET;
    server = await startServer(tmp.db);
  });
  after(async () => {
    if (saved !== undefined) process.env.IMBED_ADMIN_SECRET = saved;
    await server.close();
    tmp.remove();
  });

  it('is off: every admin route answers 404 ADMIN_DISABLED saying how to turn it on, whatever the header', async () => {
    for (const secret of [null, ADMIN, '']) {
      const res = await call(`http://127.0.0.1:${server.port}`, 'POST', 'conversations', { body: '{"kind":"group"}', secret });
      assert.deepEqual([res.status, res.json.error.code], [404, 'ADMIN_DISABLED']);
      assert.match(res.json.error.message, /IMBED_ADMIN_SECRET/);
    }
  });
});

describe('admin API secret from the environment', () => {
  it('takes IMBED_ADMIN_SECRET when no option is given', async () => {
    const tmp = tempDb();
    const saved = process.env.IMBED_ADMIN_SECRET;
    process.env.IMBED_ADMIN_SECRET = 'from-env';
    try {
      const server = await startServer(tmp.db);
      const base = `http://127.0.0.1:${server.port}`;
      assert.equal((await call(base, 'POST', 'conversations', { body: '{"kind":"group"}', secret: 'from-env' })).status, 201);
      assert.equal((await call(base, 'POST', 'conversations', { body: '{"kind":"group"}', secret: ADMIN })).status, 401);
      await server.close();
    } finally {
      if (saved === undefined) delete process.env.IMBED_ADMIN_SECRET;
      else process.env.IMBED_ADMIN_SECRET = saved;
      tmp.remove();
    }
  });
});

/**
 * An imbed server attached to a host's http server, for the tests of the current describe: `answer` is
 * the host's request listener, given the imbed server. Closes both after them (a second `close()` of the
 * imbed server is the first one's).
 */
function attachedHost(answer: (imbed: ImbedServer, req: IncomingMessage, res: ServerResponse) => void): { imbed: ImbedServer; base: string } {
  const tmp = tempDb();
  let host: Server;
  const site = {} as { imbed: ImbedServer; base: string };
  before(async () => {
    host = createServer((req, res) => answer(site.imbed, req, res));
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    site.imbed = await createImbedServer({ db: tmp.db, server: host, secret: SECRET, adminSecret: ADMIN, log: () => {} });
    site.base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  });
  after(async () => {
    await site.imbed.close();
    await new Promise<void>((resolve) => host.close(() => resolve()));
    tmp.remove();
  });
  return site;
}

describe('admin API in attach mode', () => {
  // The host mounts the admin API by asking it first in its own request listener.
  const site = attachedHost((imbed, req, res) => {
    if (imbed.handleAdmin(req, res)) return;
    res.end('host answered');
  });

  it('serves the admin routes through handleAdmin and leaves the rest to the host', async () => {
    const res = await call(site.base, 'POST', 'conversations', { body: JSON.stringify({ id: 'hosted', kind: 'group', members: ['alice'] }) });
    assert.equal(res.status, 201);
    assert.equal(await (await fetch(`${site.base}/other`)).text(), 'host answered');
  });
});

describe('admin API in attach mode, asked after a body parser or after close()', () => {
  // A host that reads every body itself (as a JSON body parser does) before asking imbed.
  const site = attachedHost((imbed, req, res) => {
    req.resume();
    req.once('end', () => {
      if (!imbed.handleAdmin(req, res)) res.end('host answered');
    });
  });

  it('answers a request whose body was read already with 500 saying so, rather than wait for good', async () => {
    const res = await call(site.base, 'POST', 'conversations', { body: JSON.stringify({ kind: 'group' }) });
    assert.deepEqual([res.status, res.json.error.code], [500, 'INTERNAL']);
    assert.match(res.json.error.message, /call handleAdmin before any body parser/);
  });

  it('answers 503 SERVER_CLOSED once close() has closed the database', async () => {
    await site.imbed.close();
    const res = await call(site.base, 'GET', 'conversations/any');
    assert.deepEqual([res.status, res.json.error.code], [503, 'SERVER_CLOSED']);
  });
});

describe('admin API when live sessions cannot be told about a change', () => {
  const tmp = tempDb();
  let store: Store;
  let http: Server;
  let base: string;
  const logged: string[] = [];

  before(async () => {
    store = new Store(tmp.db);
    const handle = createAdminHandler({
      secret: ADMIN,
      store,
      membershipChanged: () => {
        throw new Error('hub is gone');
      },
      log: (line) => logged.push(line),
    });
    http = createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    store.close();
    tmp.remove();
  });

  it('answers 500 saying the stored change is kept, not that nothing changed, and logs the cause', async () => {
    const created = await call(base, 'POST', 'conversations', { body: JSON.stringify({ id: 'c1', kind: 'group', members: ['alice', 'bob'] }) });
    assert.deepEqual([created.status, created.json.error.code], [500, 'INTERNAL']);
    assert.match(created.json.error.message, /is stored/);
    assert.deepEqual(store.conversation('c1')?.members, ['alice', 'bob']);

    const removed = await call(base, 'DELETE', 'conversations/c1/members/bob');
    assert.deepEqual([removed.status, removed.json.error.code], [500, 'INTERNAL']);
    assert.match(removed.json.error.message, /is stored/);
    assert.deepEqual(store.conversation('c1')?.members, ['alice']);
    assert.ok(logged.some((line) => line.includes('hub is gone')), logged.join('\n'));
  });
});
