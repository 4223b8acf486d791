/**
 * The system Chromium every Node-side browser test and benchmark launches, and the flags that keep it
 * quiet on a closed network (and let it run as root). No DOM types here: the benchmarks import it too.
 */
export const CHROMIUM_PATH = process.env.CHROME_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
