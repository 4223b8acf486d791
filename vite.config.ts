/**
 * The browser builds:
 * - `vite build`: the ES library for bundlers (`dist/lib/*.js`), dependencies left external;
 * - `vite build --mode script`: `dist/imbed.js`, one self-contained IIFE for a script tag that registers
 *   `<imbed-chat>` and defines nothing global but `window.Imbed` (extending the object if the page or the
 *   launcher created it first);
 * - `vite build --mode part-<name>`: `dist/imbed-<name>.js`, an optional part `imbed.js` loads on first
 *   use (src/ui/parts/<name>.ts);
 * - `vite build --mode launcher`: `dist/imbed-launcher.js`, the few-KB loader that draws the chat button
 *   and loads `imbed.js` on first click or when idle (src/launcher/index.ts).
 * Each build prints the gzip size of what it wrote. The plugins they use live in build/, one module each.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import pkg from './package.json' with { type: 'json' };
import { buildStamp } from './build/build-stamp.ts';
import { minifyLitTemplates } from './build/lit-templates.ts';
import { mangledNames } from './build/mangled-names.ts';
import { privateLitGlobals } from './build/private-lit-globals.ts';
import { scriptParts } from './build/script-parts.ts';
import { sizeReport } from './build/size-report.ts';
import { terserPass } from './build/terser-pass.ts';
import { bareIdb, leanReconnectingWebSocket } from './build/trim-dependencies.ts';

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
        rolldownOptions: { output: { generatedCode: { symbols: false }, minify: { compress: true, mangle: true, mangleProps: { include: mangledNames() } } } },
      },
    };
  }
  if (mode === 'launcher') {
    return {
      plugins: [terserPass(), sizeReport()],
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
    plugins: script ? [privateLitGlobals(), leanReconnectingWebSocket(), bareIdb(), scriptParts(), minifyLitTemplates(), terserPass(), sizeReport()] : [minifyLitTemplates(), sizeReport()],
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
              // No `Symbol.toStringTag` "Module" written onto the page's `window.Imbed`, which may be its own config object.
              generatedCode: { symbols: false },
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
