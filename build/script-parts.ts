import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

/**
 * In the script build, src/ui/parts.ts and src/client/load-tab-group.ts (dynamic `import()`s, which an
 * IIFE cannot split out) become src/ui/parts-script.ts, which loads each part as its own classic script
 * beside `imbed.js`; and src/ui/bridge.ts becomes src/ui/bridge-script.ts, which loads the bridge's code
 * as such a part.
 */
export function scriptParts(): Plugin {
  const ui = (name: string) => fileURLToPath(new URL(`../src/ui/${name}`, import.meta.url));
  const swaps = new Map([
    [ui('parts.ts'), ui('parts-script.ts')],
    [fileURLToPath(new URL('../src/client/load-tab-group.ts', import.meta.url)), ui('parts-script.ts')],
    [ui('bridge.ts'), ui('bridge-script.ts')],
  ]);
  return {
    name: 'imbed-script-parts',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!/[\\/](?:parts|bridge|load-tab-group)\.js$/.test(source)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return (resolved && swaps.get(resolved.id)) ?? null;
    },
  };
}
