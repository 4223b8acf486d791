/**
 * `npm run manifest` writes `dist/custom-elements.json` from the JSDoc of `<imbed-chat>`: the class
 * comment's `@summary`, `@attr`, `@prop`, `@event`, `@csspart` and `@cssproperty` tags are the element's
 * documented API, and editors and the docs read that file rather than the source.
 */

/** Where the package exposes each analyzed source module: the class in `imbed/element`, the tag in `imbed`. */
const PUBLIC_MODULES = {
  'src/ui/imbed-chat.component.ts': 'dist/lib/element.js',
  'src/ui/imbed-chat.ts': 'dist/lib/index.js',
};

/** `src/ui/x.ts`, `/src/ui/x.js` (how the analyzer writes an import) -> the published module. */
function publicPath(path) {
  const source = path.replace(/^\//, '').replace(/\.js$/, '.ts');
  return PUBLIC_MODULES[source] ?? path;
}

export default {
  globs: Object.keys(PUBLIC_MODULES),
  outdir: 'dist',
  litelement: true,
  // package.json names the manifest itself; a build must not rewrite it.
  packagejson: false,
  plugins: [
    {
      // The manifest ships without src/: point its module paths at files that are in the package.
      name: 'imbed-public-paths',
      packageLinkPhase({ customElementsManifest }) {
        const declaredIn = new Map();
        for (const mod of customElementsManifest.modules) {
          mod.path = publicPath(mod.path);
          for (const declaration of mod.declarations ?? []) declaredIn.set(declaration.name, mod.path);
        }
        // A re-export (`imbed` re-exports the class) refers to the module that declares it.
        for (const mod of customElementsManifest.modules) {
          for (const entry of mod.exports ?? []) {
            if (entry.declaration) entry.declaration.module = declaredIn.get(entry.declaration.name) ?? publicPath(entry.declaration.module ?? mod.path);
          }
        }
      },
    },
  ],
};
