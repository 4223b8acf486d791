import { parseSync, Visitor, type ESTree, type Plugin } from 'vite';

/**
 * `code` with each span cut out. A span becomes an empty statement (`;`, also an empty member in a class
 * body), so an `if` that guarded it stays well formed, and keeps its line breaks, so the module's source
 * map still holds. A span inside another goes with it.
 */
function cutSpans(code: string, cuts: ReadonlyArray<{ start: number; end: number }>): string {
  let out = '';
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a.start - b.start || b.end - a.end)) {
    if (cut.start < at) continue;
    out += code.slice(at, cut.start) + ';' + code.slice(cut.start, cut.end).replace(/[^\n]/g, '');
    at = cut.end;
  }
  return out + code.slice(at);
}

/**
 * `code` of the dependency module `id` with `cuts` made, once every name of `expected` was `found` among
 * them and nothing the cut code still holds uses one (`usedIn` lists those of a program); otherwise the
 * build fails, naming `list` in this file as the one to update.
 */
function trimmed(
  ctx: { error(message: string): never },
  id: string,
  code: string,
  trim: { cuts: ReadonlyArray<{ start: number; end: number }>; expected: readonly string[]; found: ReadonlySet<string>; list: string },
  usedIn: (program: ESTree.Program) => ReadonlySet<string>,
): string {
  const update = `update ${trim.list} in build/trim-dependencies.ts`;
  const missing = trim.expected.filter((name) => !trim.found.has(name));
  if (missing.length) ctx.error(`${id} has no ${missing.join(', ')}: ${update}`);
  const out = cutSpans(code, trim.cuts);
  const left = usedIn(parseSync(id, out).program);
  if (left.size) ctx.error(`${id} still uses ${[...left].join(', ')}: ${update}`);
  return out;
}

/** The module `id` parsed, when it is one of ours (src/) that imports `pkg`; else null. */
function ourImporter(pkg: string, id: string, code: string): ESTree.Program | null {
  if (!/[\\/]src[\\/].*\.ts$/.test(id) || !code.includes(pkg)) return null;
  const { program } = parseSync(id, code);
  return program.body.some((node) => node.type === 'ImportDeclaration' && node.source.value === pkg) ? program : null;
}

/**
 * The members of reconnecting-websocket's class that imbed never uses. src/client/connection.ts, its only
 * user, constructs it, listens for `open`, `message` and `close`, reads `readyState` and the static `OPEN`,
 * and calls `send`, `reconnect` and `close`; whatever those reach inside the class stays (the static
 * `CONNECTING` and `CLOSED` for `readyState`, the instance `OPEN` and `CLOSED` for `send`, `reconnect` and
 * `close`). `_debug` logs only with a `debug` option we never set. `static` marks a static member; a getter
 * and its setter go together.
 */
const UNUSED_RWS_MEMBERS = [
  '_debug',
  'static CLOSING',
  'CONNECTING',
  'CLOSING',
  'binaryType',
  'retryCount',
  'bufferedAmount',
  'extensions',
  'protocol',
  'url',
  'dispatchEvent',
  'removeEventListener',
  'onopen',
  'onmessage',
  'onerror',
  'onclose',
];

/**
 * Leaves the {@link UNUSED_RWS_MEMBERS} out of the script build, with the statements that only call them:
 * `this._debug(...)` (and the strings it would print) and `if (this.onopen) this.onopen(event)`. Members
 * are found with the parser. The build fails if one of them is missing or still referenced in the class
 * (a new version of the package), or if a module of ours that imports the package reads one of them on
 * anything but `this`.
 */
export function leanReconnectingWebSocket(): Plugin {
  const unused = new Set(UNUSED_RWS_MEMBERS);
  const memberName = (node: { static: boolean; computed: boolean; key: ESTree.Node }) =>
    !node.computed && node.key.type === 'Identifier' ? `${node.static ? 'static ' : ''}${node.key.name}` : undefined;
  const thisMember = (node: ESTree.Node | null | undefined) =>
    node?.type === 'MemberExpression' && !node.computed && node.object.type === 'ThisExpression' && node.property.type === 'Identifier' ? node.property.name : undefined;
  return {
    name: 'imbed-lean-reconnecting-websocket',
    transform(code, id) {
      if (/[\\/]node_modules[\\/]reconnecting-websocket[\\/]reconnecting-websocket\.ts$/.test(id)) {
        const { program } = parseSync(id, code);
        const cuts: Array<{ start: number; end: number }> = [];
        const found = new Set<string>();
        const cutMember = (node: Parameters<typeof memberName>[0] & { start: number; end: number }) => {
          const name = memberName(node);
          if (name === undefined || !unused.has(name)) return;
          found.add(name);
          cuts.push({ start: node.start, end: node.end });
        };
        new Visitor({
          MethodDefinition: cutMember,
          PropertyDefinition: cutMember,
          IfStatement(node) {
            const handler = thisMember(node.test);
            if (handler && unused.has(handler) && !node.alternate) cuts.push({ start: node.start, end: node.end });
          },
          ExpressionStatement(node) {
            const called = node.expression.type === 'CallExpression' ? thisMember(node.expression.callee) : undefined;
            if (called && unused.has(called)) cuts.push({ start: node.start, end: node.end });
          },
        }).visit(program);
        const out = trimmed(this, id, code, { cuts, expected: UNUSED_RWS_MEMBERS, found, list: 'UNUSED_RWS_MEMBERS' }, (trimmedProgram) => {
          const left = new Set<string>();
          new Visitor({
            MemberExpression(node) {
              if (node.computed || node.property.type !== 'Identifier') return;
              const name = node.property.name;
              if (node.object.type === 'ThisExpression' && unused.has(name)) left.add(name);
              if (node.object.type === 'Identifier' && node.object.name === 'ReconnectingWebSocket' && unused.has(`static ${name}`)) left.add(`static ${name}`);
            },
          }).visit(trimmedProgram);
          return left;
        });
        return { code: out, map: null };
      }
      const program = ourImporter('reconnecting-websocket', id, code);
      if (program) {
        const used = new Set<string>();
        new Visitor({
          MemberExpression(node) {
            if (!node.computed && node.property.type === 'Identifier' && node.object.type !== 'ThisExpression' && unused.has(node.property.name)) used.add(node.property.name);
          },
        }).visit(program);
        if (used.size) this.error(`${id} uses ${[...used].join(', ')}, which imbed.js leaves out of reconnecting-websocket: update UNUSED_RWS_MEMBERS in build/trim-dependencies.ts`);
      }
      return null;
    },
  };
}

/**
 * The top-level declarations of idb's build/index.js that imbed never needs: the database shortcut methods
 * (`db.get`, `db.getAll`, `db.put`, ...; src/client/store.ts opens its own transactions) and the async
 * iterators (`store.iterate()`, `for await` over a store, index or cursor). Each part hooks into idb's
 * proxy with a `replaceTraps(...)` call that goes with it.
 */
const IDB_EXTRAS = [
  'readMethods',
  'writeMethods',
  'cachedMethods',
  'getMethod',
  'advanceMethodProps',
  'methodMap',
  'advanceResults',
  'ittrProxiedCursorToOriginalProxy',
  'cursorIteratorTraps',
  'iterate',
  'isIteratorProp',
];

/**
 * Leaves the {@link IDB_EXTRAS} out of the script build. Statements are found with the parser. The build
 * fails if one of them is missing, if a `replaceTraps(...)` call uses none of them (idb grew a part this
 * list does not know), if any is still referenced, or if a module of ours that imports idb iterates with
 * `iterate` or `for await`.
 */
export function bareIdb(): Plugin {
  const extras = new Set(IDB_EXTRAS);
  const names = (code: string, node: ESTree.Node) => new Set(code.slice(node.start, node.end).match(/[\w$]+/g));
  return {
    name: 'imbed-bare-idb',
    transform(code, id) {
      if (/[\\/]node_modules[\\/]idb[\\/]build[\\/]index\.js$/.test(id)) {
        const { program } = parseSync(id, code);
        const cuts: Array<{ start: number; end: number }> = [];
        const found = new Set<string>();
        for (const node of program.body) {
          const declared =
            node.type === 'FunctionDeclaration' && node.id
              ? [node.id.name]
              : node.type === 'VariableDeclaration'
                ? node.declarations.map((declarator) => (declarator.id.type === 'Identifier' ? declarator.id.name : ''))
                : [];
          if (declared.length && declared.every((name) => extras.has(name))) {
            declared.forEach((name) => found.add(name));
            cuts.push({ start: node.start, end: node.end });
          } else if (
            node.type === 'ExpressionStatement' &&
            node.expression.type === 'CallExpression' &&
            node.expression.callee.type === 'Identifier' &&
            node.expression.callee.name === 'replaceTraps'
          ) {
            if (![...names(code, node)].some((name) => extras.has(name))) this.error(`${id} has a replaceTraps call that uses none of IDB_EXTRAS: update bareIdb in build/trim-dependencies.ts`);
            cuts.push({ start: node.start, end: node.end });
          }
        }
        const out = trimmed(this, id, code, { cuts, expected: IDB_EXTRAS, found, list: 'IDB_EXTRAS' }, (trimmedProgram) => {
          const left = new Set<string>();
          new Visitor({
            Identifier(node) {
              if (extras.has(node.name)) left.add(node.name);
            },
          }).visit(trimmedProgram);
          return left;
        });
        return { code: out, map: null };
      }
      const program = ourImporter('idb', id, code);
      if (program) {
        let iterates = false;
        new Visitor({
          ForOfStatement(node) {
            if (node.await) iterates = true;
          },
          MemberExpression(node) {
            if (!node.computed && node.property.type === 'Identifier' && node.property.name === 'iterate') iterates = true;
          },
        }).visit(program);
        if (iterates) this.error(`${id} iterates over IndexedDB with idb's async iterators, which imbed.js leaves out: use a cursor, or update IDB_EXTRAS in build/trim-dependencies.ts`);
      }
      return null;
    },
  };
}
