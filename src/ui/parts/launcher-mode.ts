/**
 * The entry of `dist/imbed-launcher-mode.js`, the script build's `mode="launcher"`: hands the button, the
 * panel and their styles to the script element that loaded it (src/ui/parts-script.ts), defining no global.
 */
import * as launcherMode from '../launcher-mode.js';
import { handOver } from './hand-over.js';

handOver(launcherMode);
