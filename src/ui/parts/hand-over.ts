/**
 * How a part of the script build hands what it exports to the `<script>` that loaded it
 * (src/ui/parts-script.ts): an `imbed-part` event with the part and the build it comes from, defining no
 * global. `imbed.js` takes a part of its own build only.
 */
import { BUILD } from '../build-stamp.js';

export interface PartHandOver<T> {
  build: string;
  part: T;
}

export function handOver<T>(part: T): void {
  document.currentScript!.dispatchEvent(new CustomEvent<PartHandOver<T>>('imbed-part', { detail: { build: BUILD, part } }));
}
