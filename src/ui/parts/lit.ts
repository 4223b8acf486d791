/**
 * What the parts get for `import ... from 'lit'` (vite.config.ts), so that no part carries a second copy
 * of Lit: the templates and styles they make are plain data that the Lit in `imbed.js` renders and
 * adopts. `html` builds the template result lit-html's own `html` builds (the `_$litType$` shape its
 * compiled templates use too); the styles come from Lit's small css-tag module.
 */
export { css, unsafeCSS } from '@lit/reactive-element/css-tag.js';
export type { TemplateResult } from 'lit';

export const html = (strings: TemplateStringsArray, ...values: unknown[]) => ({ ['_$litType$']: 1 as const, strings, values });
