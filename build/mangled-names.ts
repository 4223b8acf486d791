import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync, Visitor, type ESTree } from 'vite';

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
export function mangledNames(root = join(import.meta.dirname, '..')): RegExp {
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
