import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { THEMES } from '../../src/ui/styles.ts';

/**
 * `custom-elements.json` is generated from the JSDoc of `<imbed-chat>`, and the docs are written from
 * it. These tests compare a manifest generated now with what the source really does, so a new event,
 * part or custom property cannot go undocumented, and a documented one cannot outlive its code.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const ui = join(root, 'src/ui');

interface Described {
  name: string;
  description?: string;
}

interface ElementDeclaration {
  tagName?: string;
  customElement?: boolean;
  summary?: string;
  attributes?: (Described & { fieldName?: string })[];
  members?: (Described & { kind: string; privacy?: string; static?: boolean })[];
  events?: Described[];
  cssParts?: Described[];
  cssProperties?: Described[];
}

interface Manifest {
  modules: { path: string; declarations?: ElementDeclaration[]; exports?: { kind: string; name: string }[] }[];
}

async function uiSources(): Promise<string> {
  const files = (await readdir(ui)).filter((name) => name.endsWith('.ts'));
  return (await Promise.all(files.map((name) => readFile(join(ui, name), 'utf8')))).join('\n');
}

function sorted(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

function undescribed(items: Described[] | undefined): string[] {
  return (items ?? []).filter((item) => !item.description?.trim()).map((item) => item.name);
}

describe('custom-elements.json', () => {
  let work: string;
  let manifest: Manifest;
  let chat: ElementDeclaration;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'imbed-manifest-'));
    // The analyzer joins --outdir onto its working directory, so it takes a relative path.
    await promisify(execFile)(
      process.execPath,
      ['node_modules/@custom-elements-manifest/analyzer/cem.js', 'analyze', '--quiet', '--outdir', relative(root, work)],
      { cwd: root },
    );
    manifest = JSON.parse(await readFile(join(work, 'custom-elements.json'), 'utf8'));
    const declarations = manifest.modules.flatMap((mod) => mod.declarations ?? []);
    const found = declarations.find((declaration) => declaration.tagName === 'imbed-chat');
    assert.ok(found, 'no declaration with tagName imbed-chat');
    chat = found;
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('describes <imbed-chat> as a custom element defined by the imbed entry', () => {
    assert.equal(chat.customElement, true);
    assert.ok(chat.summary?.trim(), 'no @summary');
    const definition = manifest.modules.find((mod) =>
      mod.exports?.some((entry) => entry.kind === 'custom-element-definition' && entry.name === 'imbed-chat'),
    );
    assert.equal(definition?.path, 'dist/lib/index.js');
  });

  it('points at modules the package ships, not at sources', () => {
    for (const mod of manifest.modules) assert.match(mod.path, /^dist\/lib\/[a-z-]+\.js$/);
  });

  it('lists exactly the events of the typed event map', async () => {
    const events = await readFile(join(ui, 'events.ts'), 'utf8');
    const map = /interface ImbedChatEventMap \{([^}]*)\}/.exec(events);
    assert.ok(map, 'ImbedChatEventMap not found in events.ts');
    const dispatched = [...map[1]!.matchAll(/'(imbed-[a-z-]+)'\s*:/g)].map((match) => match[1]!);
    assert.ok(dispatched.length > 0);
    assert.deepEqual(sorted((chat.events ?? []).map((event) => event.name)), sorted(dispatched));
  });

  it('lists exactly the parts the templates render', async () => {
    const templates = await uiSources();
    const literal = new Set<string>();
    // `part="message message-${side}"` names parts only known at run time: keep their fixed prefix.
    const prefixes = new Set<string>();
    for (const [, value] of templates.matchAll(/\bpart="([^"]+)"/g)) {
      for (const token of value!.split(/\s+/)) {
        if (token.includes('${')) prefixes.add(token.slice(0, token.indexOf('${')));
        else literal.add(token);
      }
    }
    assert.ok(literal.size > 0, 'no part="..." found in src/ui');
    const documented = (chat.cssParts ?? []).map((part) => part.name);
    const rendered = (name: string) => literal.has(name) || [...prefixes].some((prefix) => name.startsWith(prefix));
    assert.deepEqual(sorted([...literal].filter((name) => !documented.includes(name))), [], 'rendered but undocumented');
    assert.deepEqual(sorted(documented.filter((name) => !rendered(name))), [], 'documented but never rendered');
    for (const prefix of prefixes) {
      assert.ok(documented.some((name) => name.startsWith(prefix) && name !== prefix), `no documented ${prefix}* part`);
    }
  });

  it('lists exactly the --imbed-* custom properties the styles read', async () => {
    const written = [...(await uiSources()).matchAll(/var\((--imbed-[a-z-]+)/g)].map((match) => match[1]!);
    assert.ok(written.length > 0);
    // The theme colours are read through properties generated from the THEMES table, not written out.
    const read = [...written, ...Object.keys(THEMES.light).map((colour) => `--imbed-${colour}`)];
    assert.deepEqual(sorted((chat.cssProperties ?? []).map((property) => property.name)), sorted(read));
  });

  it('documents every reactive property as an attribute (or, with attribute: false, as a property), and every entry with a description', async () => {
    const component = await readFile(join(ui, 'imbed-chat.component.ts'), 'utf8');
    const block = /static override properties = \{\n([\s\S]*?)\n  \};/.exec(component)?.[1] ?? '';
    // Internal state (`state: true`) is neither an attribute nor documented.
    const declared = [...block.matchAll(/^ {4}(\w+): \{([^}]*)\},$/gm)].filter((match) => !/state:\s*true/.test(match[2]!));
    const attributes = declared.filter((match) => !/attribute:\s*false/.test(match[2]!)).map((match) => match[1]!);
    const propertiesOnly = declared.filter((match) => /attribute:\s*false/.test(match[2]!)).map((match) => match[1]!);
    assert.ok(attributes.length > 0, 'no reactive property found in `static properties`');
    assert.deepEqual(sorted((chat.attributes ?? []).map((attribute) => attribute.fieldName ?? attribute.name)), sorted(attributes));
    const publicMembers = (chat.members ?? []).filter((member) => (member.privacy ?? 'public') === 'public' && !member.static && !member.name.startsWith('#'));
    for (const name of ['client', ...propertiesOnly]) {
      assert.ok(publicMembers.some((member) => member.name === name), `the ${name} property is not documented`);
    }
    for (const [kind, items] of Object.entries({
      attributes: chat.attributes,
      members: publicMembers,
      events: chat.events,
      cssParts: chat.cssParts,
      cssProperties: chat.cssProperties,
    })) {
      assert.deepEqual(undescribed(items), [], `${kind} without a description`);
    }
  });
});
