/**
 * The entry of `dist/imbed-bridge.js`, the script build's WebView bridge: hands the page's bridge to the
 * script element that loaded it (src/ui/bridge-script.ts), defining no global.
 */
import { bridge } from '../bridge.js';
import { handOver } from './hand-over.js';

handOver(bridge);
