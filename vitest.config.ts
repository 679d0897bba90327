import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The SDK warns on Node 20 that its 2027 releases will need Node 22; the Lambda runs 22.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/support/setup-unit.ts'],
          // Some unit tests run esbuild over the SDK; beside the packaging tests on 2 cores they
          // can take many seconds. A safety net, not a speed check.
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/moto-global-setup.ts'],
          // A safety net for a stuck emulator, not a speed check.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One moto server is shared by the run and reset between tests.
          fileParallelism: false,
        },
      },
    ],
  },
});
