import type { Plugin } from 'vite';

/** The globals Lit registers on `globalThis`: version lists for its duplicate-copy warning, and decorator metadata. */
const LIT_GLOBALS = ['litHtmlVersions', 'reactiveElementVersions', 'litElementVersions', 'litPropertyMetadata'];
const LIT_METADATA = '\0imbed-lit-metadata';

/**
 * Keeps the Lit bundled into `dist/imbed.js` from defining globals, so the script tag adds `window.Imbed`
 * and nothing else (test/e2e/global-footprint.test.ts). The version lists are dropped; the decorator
 * metadata map becomes a module of the bundle. Lit's published code is minified, so this matches its
 * shapes by pattern; if an upgrade changes them, the build fails rather than leak a global.
 */
export function privateLitGlobals(): Plugin {
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
      if (left.length) this.error(`${id} still uses the Lit global(s) ${left.join(', ')}: update privateLitGlobals in build/private-lit-globals.ts`);
      // The edits stay on their lines (the import goes in front of line 1), so the input's source map still
      // holds: `map: null` keeps it.
      return { code: usesMetadata ? `import { metadata as __imbedLitMetadata } from '${LIT_METADATA}';${out}` : out, map: null };
    },
    generateBundle(_options, bundle) {
      for (const [name, chunk] of Object.entries(bundle)) {
        const left = chunk.type === 'chunk' ? LIT_GLOBALS.filter((global) => chunk.code.includes(global)) : [];
        if (left.length) this.error(`${name} still defines the Lit global(s) ${left.join(', ')}`);
      }
    },
  };
}
