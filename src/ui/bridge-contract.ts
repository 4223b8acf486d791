/**
 * The parts of the hybrid-app bridge contract (docs/webview.md) that do not need the bridge's code: its
 * version, its error codes, where the native side is and whether it keeps the chat's storage. The script
 * build's `Imbed.bridge` and `<imbed-chat>` use them to decide whether to load that code at all
 * (bridge-script.ts).
 */
import type { BridgeMessage } from './bridge.js';

/** The bridge contract version this build speaks. */
export const BRIDGE_VERSION = 1;

/** Error codes of the bridge itself (the element's own codes pass through unchanged). */
export const BridgeErrorCode = {
  /** Not an object, an unknown `type`, or a field missing or of the wrong kind. */
  BAD_COMMAND: 'BRIDGE_BAD_COMMAND',
  /** `v` is not a version this build speaks. */
  UNSUPPORTED_VERSION: 'BRIDGE_UNSUPPORTED_VERSION',
  /** No `<imbed-chat>` to apply the command to. */
  NO_ELEMENT: 'BRIDGE_NO_ELEMENT',
  /** `logout` signed the user out, but some of the user's local data could not be deleted. */
  LOGOUT_FAILED: 'BRIDGE_LOGOUT_FAILED',
} as const;

interface NativeWindow {
  ImbedNative?: { postMessage?: (json: string) => void };
  webkit?: { messageHandlers?: { imbed?: { postMessage?: (message: unknown) => void } } };
}

/** The `<meta name="imbed-native">` a document-start script of the app adds: its `content` lists what the app provides. */
export function nativeMeta(): HTMLMetaElement | null {
  return document.querySelector('meta[name=imbed-native]');
}

/** Whether the app keeps the chat's storage: its side of the bridge is there and its meta lists `storage`. */
export function nativeStorageDeclared(): boolean {
  return nativeSink() !== null && /(^|\s)storage(\s|$)/.test(nativeMeta()?.content ?? '');
}

/** Where messages to the native host go, looked up on each send; null in a plain browser. */
export function nativeSink(): ((message: BridgeMessage) => void) | null {
  const w = globalThis as unknown as NativeWindow;
  const android = w.ImbedNative;
  if (typeof android?.postMessage === 'function') return (message) => android.postMessage!(JSON.stringify(message));
  const ios = w.webkit?.messageHandlers?.imbed;
  // WKWebView turns the object into an NSDictionary for the handler.
  if (typeof ios?.postMessage === 'function') return (message) => ios.postMessage!(message);
  return null;
}
