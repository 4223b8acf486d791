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
import { defineConfig, type Plugin } from 'vite';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
      return usesMetadata ? `import { metadata as __imbedLitMetadata } from '${LIT_METADATA}';\n${out}` : out;
    },
    generateBundle(_options, bundle) {
      for (const [name, chunk] of Object.entries(bundle)) {
        const left = chunk.type === 'chunk' ? LIT_GLOBALS.filter((global) => chunk.code.includes(global)) : [];
        if (left.length) this.error(`${name} still defines the Lit global(s) ${left.join(', ')}`);
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  const script = mode === 'script';
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
    plugins: script ? [privateLitGlobals(), sizeReport()] : [sizeReport()],
    build: script
      ? {
          outDir: 'dist',
          emptyOutDir: false,
          target: 'es2022',
          lib: { entry: 'src/index.ts', name: 'Imbed', formats: ['iife'], fileName: () => 'imbed.js' },
          // Adds the exports to an existing `window.Imbed` (the launcher's, or the page's `config`) rather than replacing it.
          rolldownOptions: { output: { extend: true } },
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
