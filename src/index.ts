/**
 * The `imbed` package entry: registers `<imbed-chat>` and exports the element class, the headless
 * client and the protocol types. The script-tag build (`dist/imbed.js`) is this module as `window.Imbed`.
 * To use the class without registering the tag, import `imbed/element`.
 */
import './ui/imbed-chat.js';

export * from './element.js';
export * from './client/index.js';
