import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseSync, Visitor, type ESTree } from 'vite';
import { filesUnder } from './files.ts';

/** Every word of the `.js` and `.ts` files under `dir` and its subfolders. */
function wordsIn(dir: string, into: Set<string>): void {
  for (const file of filesUnder(dir, { keep: (name) => /\.(?:js|ts)$/.test(name) })) {
    for (const word of readFileSync(file, 'utf8').match(/[\w$]+/g) ?? []) into.add(word);
  }
}

/** The source file a relative import names (`./x.js` is `./x.ts`); null for a package. */
function imported(from: string, source: string): string | null {
  return source.startsWith('.') ? resolve(dirname(from), source).replace(/\.js$/, '.ts') : null;
}

/** A source file's text and its parse, read once however many walks visit it. */
interface Module {
  text: string;
  program: ESTree.Program;
}

const modules = new Map<string, Module>();

function parsed(file: string): Module {
  let module = modules.get(file);
  if (!module) {
    const text = readFileSync(file, 'utf8');
    modules.set(file, (module = { text, program: parseSync(file, text).program }));
  }
  return module;
}

/** The browser code's source files: src/ but its server. */
function browserSources(dir: string): string[] {
  return filesUnder(dir, { skip: 'server', keep: (name) => name.endsWith('.ts') });
}

/** Visits `entries` and every module they reach through the sources `next` names in each (packages are left out). */
function walkModules(entries: readonly string[], next: (module: Module) => Iterable<string>): void {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const source of next(parsed(file))) {
      const target = imported(file, source);
      if (target) walk(target);
    }
  };
  for (const entry of entries) walk(entry);
}

/**
 * The classes of the package's API: those src/index.ts exports, directly or through `export *` and
 * `export { … } from`, and the classes they extend. Their members are called by the host page.
 */
function apiClasses(root: string): Set<string> {
  const names = new Set<string>();
  walkModules([join(root, 'src/index.ts')], function* ({ program }) {
    for (const node of program.body) {
      if (node.type === 'ExportAllDeclaration') yield node.source.value;
      else if (node.type === 'ExportNamedDeclaration') {
        for (const spec of node.specifiers) if (spec.exported.type === 'Identifier') names.add(spec.exported.name);
        if (node.declaration?.type === 'ClassDeclaration' && node.declaration.id) names.add(node.declaration.id.name);
        if (node.source) yield node.source.value;
      }
    }
  });
  const bases = new Map<string, string>();
  for (const file of browserSources(join(root, 'src'))) {
    new Visitor({
      ClassDeclaration(node) {
        if (node.id && node.superClass?.type === 'Identifier') bases.set(node.id.name, node.superClass.name);
      },
    }).visit(parsed(file).program);
  }
  for (const name of names) {
    const base = bases.get(name);
    if (base) names.add(base); // a Set visits what is added while it is iterated
  }
  return names;
}

/** Every word of the modules the script build's parts (src/ui/parts/*.ts) are built from. */
function partWords(root: string): Set<string> {
  const words = new Set<string>();
  const parts = join(root, 'src/ui/parts');
  const entries = readdirSync(parts).filter((name) => name.endsWith('.ts')).map((name) => join(parts, name));
  walkModules(entries, function* ({ text, program }) {
    for (const word of text.match(/[\w$]+/g) ?? []) words.add(word);
    for (const node of program.body) {
      if (node.type === 'ImportDeclaration' && node.importKind !== 'type') yield node.source.value;
      else if ((node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') && node.source) yield node.source.value;
    }
  });
  return words;
}

/**
 * The pattern of property names the script build may shorten: `_`-prefixed ones, and two kinds of
 * member of the browser code in src/ (the minifier shortens `#private` members by itself, not these):
 *
 * - TypeScript `private` and `protected` members, when every mention in src/ is their declaration or
 *   `this.name` (never `other.name`);
 * - members of the classes outside the API (see `apiClasses`), which other classes of the bundle call
 *   as `other.name`, when no part (built and shortened on its own) mentions the word.
 *
 * In both cases a name stays long when anything else could read it under that name: an object key, an
 * interface member or a string in src/ (a frame field, a record stored in IndexedDB, a `ChatStore`
 * method a host implements), a decorator, a word of a bundled dependency (lit, idb), or a name the
 * language can call by itself (`then`, `toJSON`, `handleEvent`, any name in the ES library typings).
 */
export function mangledNames(root = join(import.meta.dirname, '..')): RegExp {
  const declared = new Set<string>();
  /** Members of classes outside the API, which may be read from other objects. */
  const internal = new Set<string>();
  const blocked = new Set<string>(['handleEvent']);
  /** Names read as `other.name`: fine for an internal class's member, not for a private one. */
  const readElsewhere = new Set<string>();
  const typescript = join(root, 'node_modules/typescript/lib');
  for (const file of readdirSync(typescript).filter((name) => /^lib\.es.*\.d\.ts$/.test(name))) {
    for (const word of readFileSync(join(typescript, file), 'utf8').match(/[\w$]+/g) ?? []) blocked.add(word);
  }
  for (const dep of ['lit', 'lit-html', 'lit-element', '@lit/reactive-element', 'idb', 'reconnecting-websocket']) wordsIn(join(root, 'node_modules', dep), blocked);
  const api = apiClasses(root);
  type Member = { accessibility?: string | null; override?: boolean; decorators?: unknown[]; kind?: string; key: ESTree.Node; computed?: boolean };
  for (const file of browserSources(join(root, 'src'))) {
    const { program } = parsed(file);
    const allowed = new WeakSet<object>();
    const mentions: Array<{ node: object; name: string }> = [];
    /** Members of the classes of this file that are not part of the API. */
    const ofInternalClass = new WeakSet<object>();
    for (const node of program.body) {
      const klass = node.type === 'ExportNamedDeclaration' || node.type === 'ExportDefaultDeclaration' ? node.declaration : node;
      if (klass?.type === 'ClassDeclaration' && klass.id && !api.has(klass.id.name)) for (const member of klass.body.body) ofInternalClass.add(member);
    }
    const key = (node: { key: ESTree.Node; computed?: boolean }) => {
      if (!node.computed && node.key.type === 'Identifier') mentions.push({ node: node.key, name: node.key.name });
    };
    const declare = (node: Member) => {
      if (!node.computed && node.key.type === 'Identifier' && !node.override && !node.decorators?.length && node.kind !== 'constructor') {
        if (node.accessibility === 'private' || node.accessibility === 'protected') {
          declared.add(node.key.name);
          allowed.add(node.key);
        } else if (ofInternalClass.has(node)) {
          internal.add(node.key.name);
          allowed.add(node.key);
        }
      }
      key(node);
    };
    new Visitor({
      PropertyDefinition: declare,
      MethodDefinition: declare,
      TSParameterProperty(node) {
        const parameter = node.parameter.type === 'AssignmentPattern' ? node.parameter.left : node.parameter;
        if ((node.accessibility === 'private' || node.accessibility === 'protected') && parameter.type === 'Identifier') declared.add(parameter.name);
      },
      MemberExpression(node) {
        if (node.computed || node.property.type !== 'Identifier') return;
        allowed.add(node.property);
        if (node.object.type !== 'ThisExpression') readElsewhere.add(node.property.name);
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
  const inParts = partWords(root);
  const names = [
    ...[...declared].filter((name) => !readElsewhere.has(name)),
    ...[...internal].filter((name) => !inParts.has(name) && !declared.has(name)),
  ].filter((name) => !blocked.has(name) && !name.startsWith('_'));
  return new RegExp(`^(?:_[a-zA-Z]|(?:${[...new Set(names)].sort().join('|')})$)`);
}
