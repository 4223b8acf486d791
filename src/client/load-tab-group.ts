/**
 * The tab group's code (tab-group.ts), loaded when a client first meets another client of its database
 * (database-peers.ts) or finds its group's lock held (leader.ts): a page with one tab never downloads it. Here a
 * dynamic `import()`, which the host's bundler splits out; the script build (`dist/imbed.js`) uses
 * src/ui/parts-script.ts in this module's place, which loads it as the part `imbed-tab-group.js`.
 */
import type { TabGroup } from './tab-group.js';

export const loadTabGroup = (): Promise<typeof TabGroup> => import('./tab-group.js').then((part) => part.TabGroup);
