// @ts-check
/**
 * Mutation testing of the sync engine's ownership parts (`npm run mutate:sync`): which ids
 * count as looked up and which vanished (in sync()), which names the instances claim
 * (claimedNames), and which owners are looked up before the planner decides (describeOwners).
 * Line ranges of functions/sync/engine.ts: move them with the code. Run with the handler, hub
 * and sync-owners tests (STRYKER_TESTS=sync).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
import core from './stryker.config.mjs';

process.env.STRYKER_TESTS = 'sync';

export default {
  ...core,
  mutate: ['functions/sync/engine.ts:233-244', 'functions/sync/engine.ts:337-347', 'functions/sync/engine.ts:379-429'],
  incrementalFile: 'reports/stryker-incremental-sync.json',
  jsonReporter: { fileName: 'reports/mutation/sync.json' },
  htmlReporter: { fileName: 'reports/mutation/sync.html' },
};
