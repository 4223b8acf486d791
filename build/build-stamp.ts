import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from './files.ts';

/**
 * The build stamp `imbed.js` and its parts share (src/ui/build-stamp.ts): a hash of the browser sources,
 * the lockfile, vite.config.ts and the plugins in build/, so every separate `vite build` of one
 * `npm run build` gets the same one, and any change to what they are built from gives a new one.
 */
export function buildStamp(root = join(import.meta.dirname, '..')): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(join(root, 'src'), { skip: 'server' }), ...filesUnder(join(root, 'build')), join(root, 'package-lock.json'), join(root, 'vite.config.ts')]) {
    hash.update(file.slice(root.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 10);
}
