// Browser tests: real Chromium, real IndexedDB, and a real imbed server started by a plugin.
// Run through `npm run test:browser`, which loads tsx so this config can import TypeScript.
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { devicePlugin } from './test/support/device-plugin.ts';
import { imbedServerPlugin } from './test/support/imbed-server-plugin.ts';

export default {
  files: ['test/client/**/*.test.ts', 'test/ui/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 5 * 60_000,
  testFramework: { config: { timeout: 30_000 } },
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
        args: [
          '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ],
      },
    }),
  ],
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'tsconfig.json' }), imbedServerPlugin(), devicePlugin()],
};
