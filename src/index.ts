/**
 * The `imbed` package entry: registers `<imbed-chat>` and exports the element class, the headless
 * client and the protocol types. The script-tag build (`dist/imbed.js`) is this module as `window.Imbed`.
 * To use the class without registering the tag, import `imbed/element`.
 * `bridge` connects the element to a hybrid app's native side when there is one (docs/webview.md).
 */
import './ui/imbed-chat.js';
import { bridge } from './ui/bridge.js';

export * from './element.js';
export * from './client/index.js';
export { bridge, BRIDGE_VERSION, BridgeErrorCode, type BridgeCommand, type BridgeMessage, type WebViewBridge } from './ui/bridge.js';

// With a native host there, the bridge attaches itself to the page's chat.
bridge.start();
