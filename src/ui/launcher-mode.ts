/**
 * What `mode="launcher"` adds to the element: the round button, the panel and their styles. Loaded when
 * an element first takes that mode (parts.ts), so inline chats never download it.
 */
export { renderLauncherButton, renderPanel } from './launcher.js';
export { launcherStyles } from './launcher-styles.js';
