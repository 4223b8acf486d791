/**
 * The entry of `dist/imbed-notify.js`, the script build's notifications part: hands notify.ts to the
 * script element that loaded it (src/ui/parts-script.ts), defining no global.
 */
import * as notify from '../notify.js';
import { handOver } from './hand-over.js';

handOver(notify);
