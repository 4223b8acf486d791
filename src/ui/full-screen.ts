/** Viewports this narrow get the launcher's panel full screen (and the element keeps Tab inside it). */
export const FULL_SCREEN = '(max-width: 480px)';
