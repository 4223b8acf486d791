import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

/** Prints the size and the gzip size (zlib level 9) of every `.js` file the build wrote, once it is written. */
export function sizeReport(): Plugin {
  let outDir = 'dist';
  const files: string[] = [];
  return {
    name: 'imbed-size-report',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle(_options, bundle) {
      for (const name of Object.keys(bundle)) if (name.endsWith('.js')) files.push(name);
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
