/**
 * Two browser builds:
 * - `vite build`: the ES library for bundlers (`dist/lib/*.js`), dependencies left external;
 * - `vite build --mode script`: `dist/imbed.js`, one self-contained IIFE for a script tag that registers
 *   `<imbed-chat>` and defines nothing global but `window.Imbed`.
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

export default defineConfig(({ mode }) => {
  const script = mode === 'script';
  return {
    plugins: [sizeReport()],
    build: script
      ? {
          outDir: 'dist',
          emptyOutDir: false,
          target: 'es2022',
          lib: { entry: 'src/index.ts', name: 'Imbed', formats: ['iife'], fileName: () => 'imbed.js' },
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
