/**
 * A vitest reporter that prints, after the run, the test files that took longest (import plus
 * tests and hooks), so a slow file is noticed when it lands. Used beside the default reporter.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** How many files the summary lists. */
const SHOWN = 8;

export default class SlowestFilesReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows = testModules
      .map((module) => {
        const { collectDuration, duration } = module.diagnostic();
        return { file: relative(process.cwd(), module.moduleId), project: module.project.name, ms: collectDuration + duration };
      })
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SHOWN);
    if (rows.length === 0) return;
    const lines = rows.map((r) => `  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}${r.project ? ` (${r.project})` : ''}`);
    process.stdout.write(`\n Slowest test files (import + tests):\n${lines.join('\n')}\n`);
  }
}
