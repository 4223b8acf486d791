/**
 * The connection banner: what the person is told about the link and the outbox, in plain words.
 * `describeConnection` decides the words (a pure function of the client's public state); `renderBanner`
 * draws them into the `banner` part, which is always present so its live region stays registered.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { ConnectionState, StorageKind } from '../client/index.js';
import { en, type Strings } from './strings.js';

export interface ConnectionFacts {
  state: ConnectionState | null;
  /** Messages of this conversation waiting to send. */
  pending: number;
  /**
   * Online, whether one of them has waited longer than a send takes (`PENDING_NOTICE_AFTER`): only then
   * does the banner count them, so that every message sent does not flash a notice.
   */
  waitingLong?: boolean;
  storageKind: StorageKind | null;
  /** The client has been online before, so a new `connecting` is a reconnect. */
  wasOnline: boolean;
  /** The browser says it has no network (`navigator.onLine` false): only then is the client "Offline". */
  deviceOffline?: boolean;
  /** An attempt to connect has failed since the client was last online (or started). */
  attemptFailed?: boolean;
  /** Why the client stopped: the fatal error's message, else the last close reason. */
  stopReason: string;
  /**
   * A wait the server asked for, in whole seconds left: `rate` while the outbox waits out `RATE_LIMITED`,
   * `connections` while reconnecting waits out `TOO_MANY_CONNECTIONS`. Absent or null when none.
   */
  hold?: { kind: 'rate' | 'connections'; seconds: number; total: number } | null;
  /** The server refused this conversation to this user (`FORBIDDEN`): not, or no longer, a member. */
  notMember?: boolean;
}

/** How long a message may wait to send while online before the banner counts it (ms). */
export const PENDING_NOTICE_AFTER = 2_000;

export interface BannerModel {
  /** The connection line; empty when there is nothing to say. */
  status: string;
  /**
   * What assistive technology reads instead of `status`, when set: a countdown is said once, with the
   * whole wait, rather than every second as the line counts down.
   */
  spoken?: string;
  /** A persistent notice (in-memory storage), shown under any state. */
  notice: string;
  /** Offer "Retry now" (`client.reconnect()`). */
  canRetry: boolean;
  tone: 'info' | 'error';
}

/** The banner's words for `facts`, in the language of `strings` (English unless given). */
export function describeConnection(facts: ConnectionFacts, strings: Strings = en): BannerModel {
  const { state, pending, wasOnline } = facts;
  const withPending = (status: string): string => (pending > 0 ? strings.withWaiting(status, pending) : status);
  const notice = facts.storageKind === 'memory' ? strings.memoryStorage : '';
  let status = '';
  let spoken: string | undefined;
  let canRetry = false;
  let tone: BannerModel['tone'] = 'info';
  switch (state) {
    case null:
      status = strings.noClient;
      break;
    case 'idle':
      status = withPending(strings.notStarted);
      break;
    case 'offline':
    case 'connecting':
    case 'authenticating':
      // "Offline" only when the device has no network. With one, the server is out of reach: the time
      // between attempts reads as the attempts do, so the banner (a live region) holds still while the
      // client keeps trying, and so does its "Retry now" once an attempt has failed.
      status = withPending(facts.deviceOffline ? strings.offline : wasOnline ? strings.reconnecting : strings.connecting);
      canRetry = wasOnline || state === 'offline' || !!facts.attemptFailed;
      break;
    case 'syncing':
      status = strings.catchingUp;
      break;
    case 'online':
      status = pending > 0 && facts.waitingLong ? strings.waiting(pending) : '';
      break;
    case 'stopped':
      status = strings.unavailable(facts.stopReason);
      tone = 'error';
      break;
  }
  if (state !== 'stopped' && state !== null) {
    // Said instead of a bare "Offline" or "waiting to send": the person learns why, and for how long.
    const hold = facts.hold;
    if (hold?.kind === 'connections' && state !== 'online' && state !== 'syncing') {
      status = strings.tooManyConnections(hold.seconds);
      spoken = strings.tooManyConnections(hold.total);
    }
    if (hold?.kind === 'rate' && state === 'online' && pending > 0) {
      status = withPending(strings.sendingTooFast(hold.seconds));
      // Without the count, which falls as each message gets through: it would be read out at every change.
      spoken = strings.sendingTooFast(hold.total);
    }
    // Connected but refused: no state line would explain an empty conversation and messages that fail.
    if (facts.notMember) {
      status = strings.notMember;
      spoken = undefined;
      tone = 'error';
    }
  }
  return { status, ...(spoken !== undefined && { spoken }), notice, canRetry, tone };
}

/**
 * The banner. `onRetry` is null while the attempt "Retry now" asked for is under way: the button says so
 * and takes no click.
 */
export function renderBanner(model: BannerModel, state: ConnectionState | null, onRetry: (() => void) | null, strings: Strings): TemplateResult {
  const empty = !model.status && !model.notice;
  return html`<div
    class="banner"
    part="banner"
    role="status"
    aria-live="polite"
    data-state=${state ?? 'none'}
    data-tone=${model.tone}
    ?data-empty=${empty}
  >
    ${model.status
      ? html`<p class="banner-line" part="banner-status">${model.spoken === undefined
        ? model.status
        : html`<span aria-hidden="true">${model.status}</span><span class="visually-hidden">${model.spoken}</span>`}</p>`
      : nothing}
    ${model.canRetry
      ? html`<button type="button" part="banner-retry" aria-disabled=${!onRetry} @click=${onRetry}>${onRetry ? strings.retryNow : strings.retrying}</button>`
      : nothing}
    ${model.notice ? html`<p class="banner-line" part="banner-notice">${model.notice}</p>` : nothing}
  </div>`;
}
