/**
 * The entry of `dist/imbed-tab-group.js`, the script build's tab group part: hands the group
 * (src/client/tab-group.ts) to the script element that loaded it (src/ui/parts-script.ts), defining no
 * global. `imbed.js` loads it when its client meets another client of its database.
 */
import { TabGroup } from '../../client/tab-group.js';
import { handOver } from './hand-over.js';

handOver(TabGroup);
