import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * What `npm run test:release` runs, not `npm test`: the npm package packed and installed, and
 * the four platforms' executables, built from Node binaries of about 100 MB each.
 */
const RELEASE = ['test/integration/package.test.ts'];

export default defineConfig({
  test: {
    // The SDK warns on Node 20 that its 2027 releases will need Node 22; the Lambda runs 22.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Files wait on moto, sshd and child processes much of the time: one worker more than the
    // cores keeps both busy. Each integration worker has a moto server of its own (the global
    // setup starts one per worker). VITEST_MAX_WORKERS=N overrides.
    maxWorkers: availableParallelism() + 1,
    reporters: ['default', './test/support/slowest-files-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/support/setup-worker.ts', 'test/support/setup-unit.ts'],
          // One module cache per worker, so the SDK's packages load once, not once per file
          // (about half of the project's CPU time was imports); setup-unit.ts keeps the files
          // apart. The integration files stay isolated: each loads the Lambda bundle afresh,
          // as a new container would.
          isolate: false,
          // Some unit tests run esbuild over the SDK; beside the integration tests on 2 cores
          // they can take many seconds. A safety net, not a speed check.
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: RELEASE,
          setupFiles: ['test/support/setup-worker.ts'],
          globalSetup: ['test/support/moto-global-setup.ts'],
          // A safety net for a stuck emulator, not a speed check.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'release',
          include: RELEASE,
          setupFiles: ['test/support/setup-worker.ts'],
          globalSetup: ['test/support/moto-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
