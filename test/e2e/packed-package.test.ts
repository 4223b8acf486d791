import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { launchChromium, until } from '../support/browser.ts';

/**
 * The package as a user gets it: `npm pack` of this repo, installed into a copy of examples/spa, which
 * then has to type-check and build. Needs `dist/` (`npm run build`), as `npm pack` ships only that.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A child npm must see this machine's npm settings but not the `npm_*` variables of the `npm test`
 * that may have started us: they describe the imbed package, not the temporary app.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('npm_') || key === 'npm_config_cache' || key === 'npm_config_registry') env[key] = value;
  }
  return env;
}

async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

/**
 * Misuses the package's types must reject. Each `@ts-expect-error` that is not needed fails `tsc`, so
 * untyped events or a missing tag-map entry cannot pass silently.
 */
const MISUSE = `import 'imbed';
import type { ImbedChat } from 'imbed/element';

// Only the HTMLElementTagNameMap entry makes this an ImbedChat rather than an Element.
export const chat: ImbedChat | null = document.querySelector('imbed-chat');

chat?.addEventListener('imbed-message', (event) => {
  // @ts-expect-error an imbed-message carries a message, not a connection state
  console.log(event.detail.to);
});
document.addEventListener('imbed-status', (event) => {
  // @ts-expect-error pending is a count
  const pending: string = event.detail.pending;
  console.log(pending);
});
if (chat) {
  // @ts-expect-error conversation is a string property
  chat.conversation = 42;
}
`;

/** A module that uses only the class, to show `imbed/element` registers no tag. */
const CLASS_ONLY = `import { ImbedChat } from 'imbed/element';
(window as unknown as { ImbedChat: typeof ImbedChat }).ImbedChat = ImbedChat;
`;

/**
 * Every subpath with types, imported by a project still on `moduleResolution: node` (node10), which
 * reads `typesVersions` and never `exports`. skipLibCheck: the server's types need @types/ws, which a
 * browser app does not install; what this checks is that each subpath resolves.
 */
const NODE10 = `import type * as element from 'imbed/element';
import type * as client from 'imbed/client';
import type * as protocol from 'imbed/protocol';
import type * as server from 'imbed/server';
export type Subpaths = [typeof element, typeof client, typeof protocol, typeof server];
`;
const NODE10_TSCONFIG = JSON.stringify({
  extends: './tsconfig.json',
  compilerOptions: { moduleResolution: 'node10', skipLibCheck: true },
  include: ['node10.ts'],
});

/** Every file a package.json `exports` value points at (conditions and subpaths flattened). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

/** Serves `dir` read-only on a free port, enough for a built SPA. */
async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://spa').pathname;
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (relative(dir, file).startsWith('..') || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(await readFile(file));
  });
  await new Promise<void>((r) => server.listen(0, 'localhost', r));
  const { port } = server.address() as { port: number };
  return { url: `http://localhost:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('the packed package in a Vite SPA', () => {
  let work: string;
  let spa: string;
  let packed: string[];
  let packageJson: {
    exports: unknown;
    types: string;
    typesVersions: Record<string, Record<string, string[]>>;
    customElements: string;
    bin: Record<string, string>;
  };
  let bundle: string;

  before(async () => {
    for (const built of ['dist/lib/index.js', 'dist/imbed.js', 'dist/types/index.d.ts', 'dist/custom-elements.json']) {
      assert.ok(existsSync(join(root, built)), `${built} is missing: run npm run build first`);
    }
    work = await mkdtemp(join(tmpdir(), 'imbed-packed-'));
    const [pack] = JSON.parse(await sh(root, 'npm', ['pack', '--json', '--pack-destination', work])) as [
      { filename: string; files: { path: string }[] },
    ];
    packed = pack.files.map((file) => file.path);

    spa = join(work, 'spa');
    await cp(join(root, 'examples/spa'), spa, {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
    });
    await writeFile(join(spa, 'src/misuse.ts'), MISUSE);
    await writeFile(join(spa, 'class-only.ts'), CLASS_ONLY);
    // The example depends on the published imbed; `--no-save <tarball>` puts the one just packed in its
    // place, as the example's README tells readers to. `--ignore-scripts`: a browser app never loads the
    // server, so better-sqlite3 need not compile. `--prefer-offline`: the root install cached the rest.
    const flags = ['--no-save', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'];
    await sh(spa, 'npm', ['install', ...flags, join(work, pack.filename)]);
    packageJson = JSON.parse(await readFile(join(spa, 'node_modules/imbed/package.json'), 'utf8'));

    await sh(spa, process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
    await sh(spa, process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
    const assets = join(spa, 'dist/assets');
    const scripts = (await readdir(assets)).filter((name) => name.endsWith('.js'));
    bundle = (await Promise.all(scripts.map((name) => readFile(join(assets, name), 'utf8')))).join('\n');
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships the builds, types, manifest and docs', () => {
    for (const file of ['package.json', 'README.md', 'dist/imbed.js', 'dist/imbed-launcher.js', 'dist/custom-elements.json']) {
      assert.ok(packed.includes(file), `${file} is not in the tarball`);
    }
    for (const folder of ['dist/lib/', 'dist/types/', 'dist/node/server/', 'docs/']) {
      assert.ok(packed.some((path) => path.startsWith(folder)), `nothing under ${folder} in the tarball`);
    }
    if (existsSync(join(root, 'LICENSE'))) assert.ok(packed.includes('LICENSE'));
  });

  it('ships no sources, tests, CI scripts, examples, databases or tarballs', () => {
    const stray = packed.filter(
      (path) =>
        /^(src|test|\.ci|node_modules|data|examples|bench)\//.test(path) ||
        /\.(db|db-wal|db-shm|tgz)$/.test(path),
    );
    assert.deepEqual(stray, []);
  });

  it('points every export, the types, the manifest and the bin at files in the tarball', () => {
    const targets = [
      ...exportTargets(packageJson.exports),
      packageJson.types,
      ...Object.values(packageJson.typesVersions).flatMap((paths) => Object.values(paths).flat()),
      packageJson.customElements,
      ...Object.values(packageJson.bin),
    ];
    assert.ok(targets.length > 10, 'exports look empty');
    const missing = targets.map((target) => target.replace(/^\.\//, '')).filter((path) => !packed.includes(path));
    assert.deepEqual(missing, []);
  });

  it('type-checks the example against the packed types, misuses included', async () => {
    // before() already ran tsc; this proves the misuse file was part of that program.
    const program = await sh(spa, process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--listFilesOnly']);
    assert.match(program, /src[\\/]misuse\.ts/);
    assert.match(program, /node_modules[\\/]imbed[\\/]dist[\\/]types[\\/]index\.d\.ts/);
  });

  it('type-checks every subpath under moduleResolution node10', async () => {
    await writeFile(join(spa, 'node10.ts'), NODE10);
    await writeFile(join(spa, 'tsconfig.node10.json'), NODE10_TSCONFIG);
    await sh(spa, process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.node10.json']);
  });

  it('imports every browser entry in Node, as server-side rendering does, without registering a tag', async () => {
    // Next.js or Nuxt evaluate a component's imports on the server too: the import must not throw there.
    const script = `const entries = ['imbed', 'imbed/element', 'imbed/client', 'imbed/protocol'];
      const modules = await Promise.all(entries.map((entry) => import(entry)));
      console.log(JSON.stringify(modules.map((m) => Object.keys(m).length > 0).concat(typeof modules[0].ImbedChat, typeof modules[0].ImbedClient)));`;
    const printed = await sh(spa, process.execPath, ['--input-type=module', '-e', script]);
    assert.deepEqual(JSON.parse(printed), [true, true, true, true, 'function', 'function']);
  });

  it('bundles the element with its registration and without the server', () => {
    assert.match(bundle, /customElements\.define\([`'"]imbed-chat[`'"]/);
    assert.doesNotMatch(bundle, /better-sqlite3|node:fs/);
  });

  it('builds an SPA whose <imbed-chat> upgrades and takes its properties', async () => {
    const site = await serveStatic(join(spa, 'dist'));
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${site.url}/`);
      await until(
        () => page.evaluate(() => !!document.querySelector('imbed-chat')?.shadowRoot?.querySelector('[part="composer"]')),
        'the chat to render',
      );
      // main.ts sets the property; the element reflects it, which only an upgraded ImbedChat does.
      assert.equal(await page.locator('imbed-chat').getAttribute('conversation'), 'support-42');
    } finally {
      await browser?.close();
      await site.close();
    }
  });

  it('imports the class from imbed/element without registering <imbed-chat>', async () => {
    const result = await build({
      root: spa,
      configFile: false,
      logLevel: 'silent',
      build: {
        write: false,
        minify: false,
        lib: { entry: join(spa, 'class-only.ts'), formats: ['es'], fileName: 'class-only' },
        // One module for the page below: the parts the element loads on first use (import()) go inline.
        rolldownOptions: { output: { inlineDynamicImports: true } },
      },
    });
    const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[];
    const code = outputs.flatMap(({ output }) => output.map((chunk) => chunk.code ?? '')).join('\n');
    // Nothing in what imbed/element pulls in defines any tag; the page below shows the class is there.
    assert.doesNotMatch(code, /customElements\.define\(/);

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.addScriptTag({ type: 'module', content: code });
      await until(() => page.evaluate(() => 'ImbedChat' in window), 'the module to run');
      assert.equal(await page.evaluate(() => customElements.get('imbed-chat')), undefined);
      // The class works under a name the host picks.
      const renders = await page.evaluate(async () => {
        customElements.define('support-chat', (window as unknown as { ImbedChat: CustomElementConstructor }).ImbedChat);
        const chat = document.body.appendChild(document.createElement('support-chat'));
        await customElements.whenDefined('support-chat');
        await new Promise((r) => requestAnimationFrame(r));
        return !!chat.shadowRoot?.querySelector('[part="composer"]');
      });
      assert.ok(renders, '<support-chat> did not render');
    } finally {
      await browser?.close();
    }
  });
});
