// @ts-check
/**
 * Mutation testing (`npm run mutate`): the core (planner, ownership, names, configuration,
 * desired state, host keys, retry back-off), against the unit tests. The sync loop's ownership
 * bookkeeping (functions/sync/owners.ts) has its own config: stryker.sync.config.mjs.
 * Not part of `npm test`. Runs at low concurrency: the machine is shared.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  // The TypeScript checker (@stryker-mutator/typescript-checker) is off by default: on this
  // shared machine it was the bottleneck (one type check per mutant group, ~5x the test time).
  // `npm run mutate -- --checkers typescript` turns it on; it then sorts out mutants that do
  // not compile (CompileError) instead of letting the tests see them.
  checkers: [],
  tsconfigFile: 'tsconfig.stryker.json',
  // A mutant whose code runs at module load would need every test; none of those matter here.
  ignoreStatic: true,
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'functions/core/plan.ts',
    'functions/core/ownership.ts',
    'functions/core/names.ts',
    'functions/core/config.ts',
    'functions/core/desired.ts',
    'functions/core/host-keys.ts',
    'functions/core/backoff.ts',
  ],
  concurrency: 2,
  timeoutMS: 4000,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
