import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against each mutant (stryker.config.mjs, stryker.sync.config.mjs).
 * `STRYKER_TESTS=sync` adds the handler, hub and sync-owners tests, which load the AWS SDK: the sync
 * engine's mutants need them, the core's do not (the core is pure and has its own tests).
 */
const core = [
  'test/unit/plan.test.ts',
  'test/unit/plan-*.test.ts',
  'test/unit/names.test.ts',
  'test/unit/names-spoke-patterns.test.ts',
  'test/unit/ownership.test.ts',
  'test/unit/config*.test.ts',
  'test/unit/eip.test.ts',
  'test/unit/host-keys.test.ts',
  'test/unit/host-keys-mutants.test.ts',
  'test/unit/host-key-record.test.ts',
  'test/unit/backoff.test.ts',
];
const sync = ['test/unit/handler.test.ts', 'test/unit/hub.test.ts', 'test/unit/sync-owners.test.ts'];

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: process.env.STRYKER_TESTS === 'sync' ? [...core, ...sync] : core,
    // setup-worker.ts: the test files' temporary folders go when each file ends, under Stryker too.
    setupFiles: ['test/support/setup-worker.ts', 'test/support/setup-unit.ts'],
    testTimeout: 60_000,
  },
});
