// @ts-check
/**
 * Mutation testing of the sync loop's ownership parts (`npm run mutate:sync`), the whole of
 * functions/sync/owners.ts: which ids count as looked up and which vanished
 * (lookedUpAndVanished), which names the instances claim (claimedNames), and which owners are
 * looked up before the planner decides (describeOwners). Run with the handler, hub and
 * sync-owners tests (STRYKER_TESTS=sync).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
import core from './stryker.config.mjs';

process.env.STRYKER_TESTS = 'sync';

export default {
  ...core,
  mutate: ['functions/sync/owners.ts'],
  incrementalFile: 'reports/stryker-incremental-sync.json',
  jsonReporter: { fileName: 'reports/mutation/sync.json' },
  htmlReporter: { fileName: 'reports/mutation/sync.html' },
};
