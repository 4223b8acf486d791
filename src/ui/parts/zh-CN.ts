/**
 * The entry of `dist/imbed-zh-CN.js`, the script build's Simplified Chinese part: hands the words to
 * the script element that loaded it (src/ui/parts-script.ts), defining no global.
 */
import { zhCN } from '../locales/zh-CN.js';
import { handOver } from './hand-over.js';

handOver(zhCN);
