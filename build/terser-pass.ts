import { minify } from 'terser';
import type { Plugin } from 'vite';

/**
 * A second pass over the minified script: terser's compressor finds a few hundred bytes more than Oxc's
 * (joined declarations, folded conditions, inlined one-use constants). Only its safe transforms run, and
 * it renames nothing (Oxc's names and the property mangling stay as they are). It writes ASCII only
 * ("…" as `\u2026`, Chinese words likewise): a host that serves the files without `charset=utf-8` to a
 * page that declares no encoding would otherwise show the words garbled.
 */
export function terserPass(): Plugin {
  return {
    name: 'imbed-terser-pass',
    async generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const sourceMap = chunk.map ? { content: JSON.stringify(chunk.map), asObject: true } : false;
        const result = await minify(chunk.code, { ecma: 2020, compress: { passes: 2 }, mangle: false, module: false, format: { ascii_only: true }, sourceMap });
        if (result.code === undefined) this.error(`terser returned nothing for ${chunk.fileName}`);
        chunk.code = result.code;
        // With a source map (bench/size.ts asks for one) the map goes through terser too, still pointing at
        // the original modules.
        if (chunk.map && result.map && typeof result.map === 'object') {
          const { mappings, names, sources } = result.map;
          Object.assign(chunk.map, { mappings, names, sources });
        }
      }
    },
  };
}
