/**
 * Three browser builds:
 * - `vite build`: the ES library for bundlers (`dist/lib/*.js`), dependencies left external;
 * - `vite build --mode script`: `dist/imbed.js`, one self-contained IIFE for a script tag that registers
 *   `<imbed-chat>` and defines nothing global but `window.Imbed` (extending the object if the page or the
 *   launcher created it first);
 * - `vite build --mode launcher`: `dist/imbed-launcher.js`, the few-KB loader that draws the chat button
 *   and loads `imbed.js` on first click or when idle (src/launcher/index.ts).
 * Each build prints the gzip size of what it wrote.
 */
import { defineConfig, parseSync, Visitor, type ESTree, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from './package.json' with { type: 'json' };

function sizeReport(): Plugin {
  let outDir = 'dist';
  const files: string[] = [];
  return {
    name: 'imbed-size-report',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle(_options, bundle) {
      for (const [name, chunk] of Object.entries(bundle)) if (name.endsWith('.js')) files.push(name);
    },
    closeBundle() {
      for (const name of files.sort()) {
        const bytes = readFileSync(join(outDir, name));
        const kb = (n: number) => (n / 1024).toFixed(1).padStart(6);
        console.log(`size ${kb(bytes.length)} KB, gzip ${kb(gzipSync(bytes, { level: 9 }).length)} KB  ${join(outDir, name)}`);
      }
    },
  };
}

/** The globals Lit registers on `globalThis`: version lists for its duplicate-copy warning, and decorator metadata. */
const LIT_GLOBALS = ['litHtmlVersions', 'reactiveElementVersions', 'litElementVersions', 'litPropertyMetadata'];
const LIT_METADATA = '\0imbed-lit-metadata';

/**
 * Keeps the Lit bundled into `dist/imbed.js` from defining globals, so the script tag adds `window.Imbed`
 * and nothing else (test/e2e/global-footprint.test.ts). The version lists are dropped; the decorator
 * metadata map becomes a module of the bundle. Lit's published code is minified, so this matches its
 * shapes by pattern; if an upgrade changes them, the build fails rather than leak a global.
 */
function privateLitGlobals(): Plugin {
  const litModule = /[\\/]node_modules[\\/](?:lit-html|lit-element|@lit[\\/]reactive-element)[\\/]/;
  return {
    name: 'imbed-private-lit-globals',
    resolveId: (id) => (id === LIT_METADATA ? id : null),
    load: (id) => (id === LIT_METADATA ? 'export const metadata = new WeakMap();' : null),
    transform(code, id) {
      if (!litModule.test(id) || !LIT_GLOBALS.some((name) => code.includes(name))) return null;
      let out = code
        .replace(/\(\s*[\w$]+\.(?:litHtmlVersions|reactiveElementVersions|litElementVersions)\s*\?\?=\s*\[\]\s*\)\.push\(\s*(["'`])[^"'`]*\1\s*\)/g, 'void 0')
        .replace(/[\w$]+\.litPropertyMetadata\s*\?\?=\s*new WeakMap(?:\(\))?/g, 'void 0');
      const usesMetadata = out.includes('litPropertyMetadata');
      out = out.replace(/(?:\bglobalThis\.|(?<![\w$.]))litPropertyMetadata\b/g, '__imbedLitMetadata');
      const left = LIT_GLOBALS.filter((name) => out.includes(name));
      if (left.length) this.error(`${id} still uses the Lit global(s) ${left.join(', ')}: update privateLitGlobals in vite.config.ts`);
      // The edits stay on their lines (the import goes in front of line 1), so the input's source map still
      // holds: `map: null` keeps it.
      return { code: usesMetadata ? `import { metadata as __imbedLitMetadata } from '${LIT_METADATA}';${out}` : out, map: null };
    },
    generateBundle(_options, bundle) {
      for (const [name, chunk] of Object.entries(bundle)) {
        const left = chunk.type === 'chunk' ? LIT_GLOBALS.filter((global) => chunk.code.includes(global)) : [];
        if (left.length) this.error(`${name} still defines the Lit global(s) ${left.join(', ')}`);
      }
    },
  };
}

/**
 * Minifies the CSS of Lit `css` templates in our own modules: comments go, runs of white space become one
 * space, and the spaces next to `{ } ; , >` and after `:` or `(` go (never before `:`, which would turn
 * `a :hover` into `a:hover`, nor around `+ -`, which `calc()` needs). Quoted strings are kept as they are.
 * Next to a `${}` expression a space is only dropped when the character on the literal's side allows it.
 * Lit reads the cooked text, so the rule is the same for it as for a stylesheet.
 */
export function minifyCssQuasis(quasis: readonly string[]): string[] {
  const out = quasis.map((raw) => {
    let text = '';
    for (let i = 0; i < raw.length; ) {
      const char = raw[i]!;
      if (char === '\\') {
        text += raw.slice(i, i + 2);
        i += 2;
      } else if (char === "'" || char === '"') {
        let end = i + 1;
        while (end < raw.length && raw[end] !== char) end += raw[end] === '\\' ? 2 : 1;
        text += raw.slice(i, end + 1);
        i = end + 1;
      } else if (raw.startsWith('/*', i)) {
        const end = raw.indexOf('*/', i + 2);
        i = end < 0 ? raw.length : end + 2;
        if (!text.endsWith(' ')) text += ' ';
      } else if (/\s/.test(char)) {
        while (i < raw.length && /\s/.test(raw[i]!)) i++;
        if (!text.endsWith(' ')) text += ' ';
      } else {
        text += char;
        i++;
      }
    }
    return text;
  });
  return out.map((text, index) => {
    let result = '';
    // Walks again so that strings stay untouched while spaces next to punctuation go.
    for (let i = 0; i < text.length; ) {
      const char = text[i]!;
      if (char === '\\') {
        result += text.slice(i, i + 2);
        i += 2;
      } else if (char === "'" || char === '"') {
        let end = i + 1;
        while (end < text.length && text[end] !== char) end += text[end] === '\\' ? 2 : 1;
        result += text.slice(i, end + 1);
        i = end + 1;
      } else if (char === ' ') {
        const before = result.at(-1);
        const after = text[i + 1];
        // At an end of the literal nothing follows or precedes; at a `${}` only the literal's side decides.
        const dropBefore = before === undefined ? index === 0 : '{};,>:('.includes(before);
        const dropAfter = after === undefined ? index === out.length - 1 : '{};,>)'.includes(after);
        const keep = before === undefined && after === undefined ? index > 0 && index < out.length - 1 : !(dropBefore || dropAfter);
        if (keep) result += ' ';
        i++;
      } else if (char === '}' && result.endsWith(';')) {
        result = result.slice(0, -1) + char;
        i++;
      } else {
        result += char;
        i++;
      }
    }
    return result;
  });
}

/**
 * Shortens the text of Lit `html` templates: every run of white space that holds a line break becomes one
 * line break. Outside `white-space: pre*` a browser shows any such run as one space, and no template of
 * ours puts an indented line break inside a `pre-wrap` element, so nothing on screen changes.
 */
export function minifyHtmlQuasis(quasis: readonly string[]): string[] {
  return quasis.map((raw) => raw.replace(/[ \t\r\n]*\n[ \t\r\n]*/g, '\n'));
}

const MINIFIERS = new Map([
  ['css', minifyCssQuasis],
  ['html', minifyHtmlQuasis],
]);

/**
 * Applies {@link minifyCssQuasis} to every `css` tagged template and {@link minifyHtmlQuasis} to every
 * `html` one in our own modules, for the script and the library builds. The quasis are found with the
 * parser, not a pattern, so a `css` or `html` inside a string or a comment is never touched.
 */
function minifyLitTemplates(): Plugin {
  return {
    name: 'imbed-minify-lit-templates',
    transform(code, id) {
      if (!/[\\/]src[\\/].*\.[jt]s$/.test(id) || !/\b(?:css|html)`/.test(code)) return null;
      const { program } = parseSync(id, code);
      const edits: Array<{ start: number; end: number; text: string }> = [];
      let misplaced = false;
      new Visitor({
        TaggedTemplateExpression(node) {
          const minify = node.tag.type === 'Identifier' ? MINIFIERS.get(node.tag.name) : undefined;
          if (!minify) return;
          const quasis = node.quasi.quasis;
          const minified = minify(quasis.map((quasi) => quasi.value.raw));
          quasis.forEach((quasi, i) => {
            // The parser's span of a quasi includes the delimiter before it (a backtick or `}`); some
            // versions leave it out, so the raw text is looked for at both places.
            const start = [quasi.start + 1, quasi.start].find((at) => code.startsWith(quasi.value.raw, at) && at + quasi.value.raw.length <= quasi.end);
            if (start === undefined) misplaced = true;
            else edits.push({ start, end: start + quasi.value.raw.length, text: minified[i]! });
          });
        },
      }).visit(program);
      if (misplaced) this.error(`${id}: a template's offsets do not match its text; update minifyLitTemplates in vite.config.ts`);
      if (!edits.length) return null;
      let out = '';
      let at = 0;
      for (const edit of edits.sort((a, b) => a.start - b.start)) {
        out += code.slice(at, edit.start) + edit.text;
        at = edit.end;
      }
      return { code: out + code.slice(at), map: null };
    },
  };
}

/**
 * `code` with each span cut out. A span becomes an empty statement (`;`, also an empty member in a class
 * body), so an `if` that guarded it stays well formed, and keeps its line breaks, so the module's source
 * map still holds.
 */
function cutSpans(code: string, cuts: ReadonlyArray<{ start: number; end: number }>): string {
  let out = '';
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a.start - b.start)) {
    out += code.slice(at, cut.start) + ';' + code.slice(cut.start, cut.end).replace(/[^\n]/g, '');
    at = cut.end;
  }
  return out + code.slice(at);
}

/**
 * Takes reconnecting-websocket's debug logging out of the script build: we never set its `debug` option,
 * so every `_debug(...)` call (with the strings it would print) and the method itself are dead weight. The
 * statements are found with the parser; if any `_debug` is left, the build fails rather than call a
 * method that is gone.
 */
function quietReconnectingWebSocket(): Plugin {
  return {
    name: 'imbed-quiet-reconnecting-websocket',
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]reconnecting-websocket[\\/]/.test(id) || !code.includes('_debug')) return null;
      const { program } = parseSync(id, code);
      const cuts: Array<{ start: number; end: number }> = [];
      const isDebug = (node: ESTree.Node) => node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier' && node.property.name === '_debug';
      new Visitor({
        ExpressionStatement(node) {
          if (node.expression.type === 'CallExpression' && isDebug(node.expression.callee)) cuts.push({ start: node.start, end: node.end });
        },
        MethodDefinition(node) {
          if (!node.computed && node.key.type === 'Identifier' && node.key.name === '_debug') cuts.push({ start: node.start, end: node.end });
        },
      }).visit(program);
      const out = cutSpans(code, cuts);
      if (out.includes('_debug')) this.error(`${id} still mentions _debug: update quietReconnectingWebSocket in vite.config.ts`);
      return { code: out, map: null };
    },
  };
}

/**
 * The members of reconnecting-websocket's class that imbed never uses. src/client/connection.ts, its only
 * user, constructs it, listens for `open`, `message` and `close`, reads `readyState` and the static `OPEN`,
 * and calls `send`, `reconnect` and `close`; whatever those reach inside the class stays (the static
 * `CONNECTING` and `CLOSED` for `readyState`, the instance `OPEN` and `CLOSED` for `send`, `reconnect` and
 * `close`). `static` marks a static member; a getter and its setter go together.
 */
const UNUSED_RWS_MEMBERS = [
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
 * Leaves the {@link UNUSED_RWS_MEMBERS} out of the script build, with the `if (this.onopen) this.onopen(event)`
 * statements that call the `on*` handler properties. Members are found with the parser. The build fails if
 * one of them is missing or still referenced in the class (a new version of the package), or if a module
 * of ours that imports the package reads one of them on anything but `this`.
 */
function leanReconnectingWebSocket(): Plugin {
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
        }).visit(program);
        const missing = UNUSED_RWS_MEMBERS.filter((name) => !found.has(name));
        if (missing.length) this.error(`${id} has no member(s) ${missing.join(', ')}: update UNUSED_RWS_MEMBERS in vite.config.ts`);
        const out = cutSpans(code, cuts);
        const left = new Set<string>();
        new Visitor({
          MemberExpression(node) {
            if (node.computed || node.property.type !== 'Identifier') return;
            const name = node.property.name;
            if (node.object.type === 'ThisExpression' && unused.has(name)) left.add(name);
            if (node.object.type === 'Identifier' && node.object.name === 'ReconnectingWebSocket' && unused.has(`static ${name}`)) left.add(`static ${name}`);
          },
        }).visit(parseSync(id, out).program);
        if (left.size) this.error(`${id} still uses ${[...left].join(', ')}: update UNUSED_RWS_MEMBERS in vite.config.ts`);
        return { code: out, map: null };
      }
      if (!/[\\/]src[\\/].*\.ts$/.test(id) || !code.includes('reconnecting-websocket')) return null;
      const { program } = parseSync(id, code);
      if (program.body.some((node) => node.type === 'ImportDeclaration' && node.source.value === 'reconnecting-websocket')) {
        const used = new Set<string>();
        new Visitor({
          MemberExpression(node) {
            if (!node.computed && node.property.type === 'Identifier' && node.object.type !== 'ThisExpression' && unused.has(node.property.name)) used.add(node.property.name);
          },
        }).visit(program);
        if (used.size) this.error(`${id} uses ${[...used].join(', ')}, which imbed.js leaves out of reconnecting-websocket: update UNUSED_RWS_MEMBERS in vite.config.ts`);
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
 * Leaves the {@link IDB_EXTRAS} out of the script build. Statements are found with the parser. The build fails if one of them is missing, if a
 * `replaceTraps(...)` call uses none of them (idb grew a part this list does not know), if any is still
 * referenced, or if a module of ours that imports idb iterates with `iterate` or `for await`.
 */
function bareIdb(): Plugin {
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
            if (![...names(code, node)].some((name) => extras.has(name))) this.error(`${id} has a replaceTraps call that uses none of IDB_EXTRAS: update bareIdb in vite.config.ts`);
            cuts.push({ start: node.start, end: node.end });
          }
        }
        const missing = IDB_EXTRAS.filter((name) => !found.has(name));
        if (missing.length) this.error(`${id} has no declaration(s) ${missing.join(', ')}: update IDB_EXTRAS in vite.config.ts`);
        const out = cutSpans(code, cuts);
        const left = new Set<string>();
        new Visitor({
          Identifier(node) {
            if (extras.has(node.name)) left.add(node.name);
          },
        }).visit(parseSync(id, out).program);
        if (left.size) this.error(`${id} still uses ${[...left].join(', ')}: update IDB_EXTRAS in vite.config.ts`);
        return { code: out, map: null };
      }
      if (!/[\\/]src[\\/].*\.ts$/.test(id) || !code.includes('idb')) return null;
      const { program } = parseSync(id, code);
      if (program.body.some((node) => node.type === 'ImportDeclaration' && node.source.value === 'idb')) {
        let iterates = false;
        new Visitor({
          ForOfStatement(node) {
            if (node.await) iterates = true;
          },
          MemberExpression(node) {
            if (!node.computed && node.property.type === 'Identifier' && node.property.name === 'iterate') iterates = true;
          },
        }).visit(program);
        if (iterates) this.error(`${id} iterates over IndexedDB with idb's async iterators, which imbed.js leaves out: use a cursor, or update IDB_EXTRAS in vite.config.ts`);
      }
      return null;
    },
  };
}

/**
 * A second pass over the minified script: terser's compressor finds a few hundred bytes more than Oxc's
 * (joined declarations, folded conditions, inlined one-use constants). Only its safe transforms run, and
 * it renames nothing (Oxc's names and the property mangling stay as they are).
 */
function terserPass(): Plugin {
  return {
    name: 'imbed-terser-pass',
    async generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const sourceMap = chunk.map ? { content: JSON.stringify(chunk.map), asObject: true } : false;
        const result = await minify(chunk.code, { ecma: 2020, compress: { passes: 2 }, mangle: false, module: false, sourceMap });
        if (result.code === undefined) this.error(`terser returned nothing for ${chunk.fileName}`);
        chunk.code = result.code;
        // With a source map (bench/size.ts asks for one) the map goes through terser too, still pointing at
        // the original modules.
        if (chunk.map && result.map && typeof result.map === 'object') {
          const { mappings, names, sources } = result.map;
          Object.assign(chunk.map, { mappings, names, sources });
        }
      }
    },
  };
}

/**
 * The build stamp `imbed.js` and its parts share (src/ui/build-stamp.ts): a hash of the browser sources,
 * the lockfile and this file, so every separate `vite build` of one `npm run build` gets the same one, and
 * any change to what they are built from gives a new one.
 */
function buildStamp(root = import.meta.dirname): string {
  const hash = createHash('sha256');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((entry) => (entry.isDirectory() ? (entry.name === 'server' ? [] : files(join(dir, entry.name))) : [join(dir, entry.name)]))
      .sort();
  for (const file of [...files(join(root, 'src')), join(root, 'package-lock.json'), join(root, 'vite.config.ts')]) {
    hash.update(file.slice(root.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 10);
}

/** Every word of the `.js` files under `dir` and its subfolders. */
function wordsIn(dir: string, into: Set<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) wordsIn(path, into);
    else if (/\.(?:js|ts)$/.test(entry.name)) for (const word of readFileSync(path, 'utf8').match(/[\w$]+/g) ?? []) into.add(word);
  }
}

/**
 * The pattern of property names the script build may shorten: `_`-prefixed ones, and the TypeScript
 * `private` and `protected` members of the browser code in src/ (the minifier shortens `#private` fields
 * by itself, not these). A member name is only shortened when nothing could read it under its long
 * name: every mention in src/ is its declaration or `this.name` (never `other.name`, an object key, an
 * interface member or a string), no decorator names it, no bundled dependency (lit, idb) contains the
 * word, and the language cannot call it by itself (`then`, `toJSON`, `handleEvent`, any name in the
 * ES library typings).
 */
export function mangledNames(root = import.meta.dirname): RegExp {
  const declared = new Set<string>();
  const blocked = new Set<string>(['handleEvent']);
  const typescript = join(root, 'node_modules/typescript/lib');
  for (const file of readdirSync(typescript).filter((name) => /^lib\.es.*\.d\.ts$/.test(name))) {
    for (const word of readFileSync(join(typescript, file), 'utf8').match(/[\w$]+/g) ?? []) blocked.add(word);
  }
  for (const dep of ['lit', 'lit-html', 'lit-element', '@lit/reactive-element', 'idb', 'reconnecting-websocket']) wordsIn(join(root, 'node_modules', dep), blocked);
  const member = (node: { accessibility?: string | null; override?: boolean; decorators?: unknown[] }) =>
    (node.accessibility === 'private' || node.accessibility === 'protected') && !node.override && !node.decorators?.length;
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? (entry.name === 'server' ? [] : sources(join(dir, entry.name))) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    );
  for (const file of sources(join(root, 'src'))) {
    const { program } = parseSync(file, readFileSync(file, 'utf8'));
    const allowed = new WeakSet<object>();
    const mentions: Array<{ node: object; name: string }> = [];
    const key = (node: { key: ESTree.Node; computed?: boolean }) => {
      if (!node.computed && node.key.type === 'Identifier') mentions.push({ node: node.key, name: node.key.name });
    };
    const declare = (node: Parameters<typeof member>[0] & { key: ESTree.Node; computed?: boolean }) => {
      if (member(node) && !node.computed && node.key.type === 'Identifier') {
        declared.add(node.key.name);
        allowed.add(node.key);
      }
      key(node);
    };
    new Visitor({
      PropertyDefinition: declare,
      MethodDefinition: declare,
      TSParameterProperty(node) {
        const parameter = node.parameter.type === 'AssignmentPattern' ? node.parameter.left : node.parameter;
        if (member(node) && parameter.type === 'Identifier') declared.add(parameter.name);
      },
      MemberExpression(node) {
        if (node.computed || node.property.type !== 'Identifier') return;
        if (node.object.type === 'ThisExpression') allowed.add(node.property);
        mentions.push({ node: node.property, name: node.property.name });
      },
      Property: key,
      TSPropertySignature: key,
      TSMethodSignature: key,
      Literal(node) {
        if (typeof node.value === 'string') mentions.push({ node, name: node.value });
      },
    }).visit(program);
    for (const { node, name } of mentions) if (!allowed.has(node)) blocked.add(name);
  }
  const names = [...declared].filter((name) => !blocked.has(name) && !name.startsWith('_')).sort();
  return new RegExp(`^(?:_[a-zA-Z]|(?:${names.join('|')})$)`);
}

/**
 * In the script build, src/ui/parts.ts (dynamic `import()`s, which an IIFE cannot split out) becomes
 * src/ui/parts-script.ts, which loads each part as its own classic script beside `imbed.js`; and
 * src/ui/bridge.ts becomes src/ui/bridge-script.ts, which loads the bridge's code as such a part.
 */
function scriptParts(): Plugin {
  const ui = (name: string) => fileURLToPath(new URL(`src/ui/${name}`, import.meta.url));
  const swaps = new Map([
    [ui('parts.ts'), ui('parts-script.ts')],
    [ui('bridge.ts'), ui('bridge-script.ts')],
  ]);
  return {
    name: 'imbed-script-parts',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!/[\\/](?:parts|bridge)\.js$/.test(source)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return (resolved && swaps.get(resolved.id)) ?? null;
    },
  };
}

export default defineConfig(({ mode }) => {
  const script = mode === 'script';
  if (mode.startsWith('part-')) {
    // One optional part of the script build, `dist/imbed-<name>.js`, which `imbed.js` loads on first use.
    const name = mode.slice('part-'.length);
    return {
      plugins: [privateLitGlobals(), minifyLitTemplates(), terserPass(), sizeReport()],
      define: { __IMBED_BUILD__: JSON.stringify(buildStamp()) },
      resolve: {
        conditions: ['module', 'browser', 'production'],
        alias: [{ find: /^lit$/, replacement: fileURLToPath(new URL('src/ui/parts/lit.ts', import.meta.url)) }],
      },
      build: {
        outDir: 'dist',
        emptyOutDir: false,
        target: 'es2022',
        lib: { entry: `src/ui/parts/${name}.ts`, formats: ['iife'], name: 'ImbedPart', fileName: () => `imbed-${name}.js` },
        rolldownOptions: { output: { minify: { compress: true, mangle: true, mangleProps: { include: mangledNames() } } } },
      },
    };
  }
  if (mode === 'launcher') {
    return {
      plugins: [sizeReport()],
      build: {
        outDir: 'dist',
        emptyOutDir: false,
        target: 'es2022',
        minify: true,
        // The loader exports nothing: it sets up `window.Imbed` itself.
        lib: { entry: 'src/launcher/index.ts', name: 'Imbed', formats: ['iife'], fileName: () => 'imbed-launcher.js' },
      },
    };
  }
  return {
    plugins: script ? [privateLitGlobals(), quietReconnectingWebSocket(), leanReconnectingWebSocket(), bareIdb(), scriptParts(), minifyLitTemplates(), terserPass(), sizeReport()] : [minifyLitTemplates(), sizeReport()],
    // The bundled Lit is always its production build: with NODE_ENV=development in the environment Vite
    // would otherwise pick Lit's `development` export, several KB of warnings.
    // reconnecting-websocket ships its TypeScript source beside its ES5 build: built from it, the class stays
    // a native class, without the ES5 output's class, spread and iterator helpers.
    resolve: script
      ? {
          conditions: ['module', 'browser', 'production'],
          alias: [{ find: /^reconnecting-websocket$/, replacement: 'reconnecting-websocket/reconnecting-websocket.ts' }],
        }
      : {},
    define: script ? { __IMBED_BUILD__: JSON.stringify(buildStamp()) } : {},
    build: script
      ? {
          outDir: 'dist',
          emptyOutDir: false,
          target: 'es2022',
          lib: { entry: 'src/index.ts', name: 'Imbed', formats: ['iife'], fileName: () => 'imbed.js' },
          // Adds the exports to an existing `window.Imbed` (the launcher's, or the page's `config`) rather than replacing it.
          rolldownOptions: {
            output: {
              extend: true,
              // Oxc's minifier as `build.minify` runs it, plus short names for `_`-prefixed properties (the
              // private state of reconnecting-websocket and of the client; Lit's own internals are
              // `_$`-prefixed and stay as they are) and for our private members.
              minify: { compress: true, mangle: true, mangleProps: { include: mangledNames() } },
            },
          },
        }
      : {
          outDir: 'dist/lib',
          emptyOutDir: true,
          target: 'es2022',
          minify: false,
          lib: {
            entry: { index: 'src/index.ts', element: 'src/element.ts', client: 'src/client/index.ts', protocol: 'src/protocol/index.ts' },
            formats: ['es'],
          },
          rolldownOptions: {
            // Dependencies stay external: the host's bundler dedupes lit, idb and reconnecting-websocket.
            external: (id: string) => Object.keys(pkg.dependencies).some((dep) => id === dep || id.startsWith(`${dep}/`)),
          },
        },
  };
});
