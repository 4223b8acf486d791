/**
 * Which build of the script `imbed.js` and its parts come from: a hash of the sources they are built
 * from (build/build-stamp.ts), set by vite.config.ts (`__IMBED_BUILD__`) in the script and part builds,
 * the only ones that import this module.
 */
declare const __IMBED_BUILD__: string;

export const BUILD: string = __IMBED_BUILD__;
