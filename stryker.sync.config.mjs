// @ts-check
/**
 * Mutation testing of the sync engine's ownership parts (`npm run mutate:sync`): which names
 * the instances claim, and which owners are looked up before the planner decides. Line
 * ranges of functions/sync/engine.ts; run with the handler and hub tests (STRYKER_TESTS=sync).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
import core from './stryker.config.mjs';

process.env.STRYKER_TESTS = 'sync';

export default {
  ...core,
  mutate: ['functions/sync/engine.ts:328-338', 'functions/sync/engine.ts:369-419'],
  incrementalFile: 'reports/stryker-incremental-sync.json',
  jsonReporter: { fileName: 'reports/mutation/sync.json' },
  htmlReporter: { fileName: 'reports/mutation/sync.html' },
};
