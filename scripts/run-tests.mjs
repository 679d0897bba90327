// `npm test` after the build: the type-check, the unit and integration tests on this Node, and
// the integration tests again on Node 22, the Lambda runtime's version, all at the same time.
// Each is mostly one process waiting on another (tsc is single-threaded; each vitest run ends
// with its slowest file alone), so together they keep two cores busy where one after another
// they would not. The first vitest run prints as it goes; the others' output follows, whole.
// Exits 0 only if every step passes.
//
//   node scripts/run-tests.mjs                 all three
//   node scripts/run-tests.mjs --only node22   one of: vitest, typecheck, node22
//
// Every step is a child of this process, and ends with it: a signal is passed on, and if the
// process that started this one (npm, or its shell) is gone, however it ended, the steps are
// stopped (each vitest run's global setup also ends it when this process is gone).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { node22 } from './node22.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

/** The integration files that run on Node 22 too: the ones that run the Lambda bundle. */
export const NODE22_FILES = [
  'test/integration/lifecycle.test.ts',
  'test/integration/ownership.test.ts',
  'test/integration/reconcile.test.ts',
  'test/integration/elastic-ip.test.ts',
  'test/integration/sdk-error-names.test.ts',
  'test/integration/hub.test.ts',
];

/** @typedef {{ name: string, live?: boolean, commands: () => [string, string[]][] }} Step */

/** @type {Record<string, Step>} */
const STEPS = {
  vitest: { name: 'vitest: unit and integration', live: true, commands: () => [[process.execPath, [VITEST, 'run', '--project', 'unit', '--project', 'integration']]] },
  typecheck: { name: 'type-check (tsc -p . and -p bench)', commands: () => [[process.execPath, [TSC, '--noEmit', '-p', '.']], [process.execPath, [TSC, '--noEmit', '-p', 'bench']]] },
  node22: { name: 'vitest on Node 22: the bundle\'s integration tests', commands: () => [[node22(), [VITEST, 'run', '--project', 'integration', ...NODE22_FILES]]] },
};

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const chosen = values.only ? [STEPS[values.only] ?? usage(values.only)] : Object.values(STEPS);
if (chosen.length === 1) chosen[0].live = true;

/** @param {string} name @returns {never} */
function usage(name) {
  console.error(`unknown step ${name}: one of ${Object.keys(STEPS).join(', ')}`);
  process.exit(2);
}

const started = Date.now();
/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
let stopping = false;

/**
 * Runs a step's commands one after another; resolves with the exit code and, unless live, the output.
 * @param {Step} step
 * @returns {Promise<{ code: number, output: string, seconds: number }>}
 */
async function run(step) {
  let output = '';
  for (const [command, args] of step.commands()) {
    const code = await new Promise((resolve) => {
      const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', step.live ? 'inherit' : 'pipe', step.live ? 'inherit' : 'pipe'] });
      running.add(child);
      child.stdout?.on('data', (chunk) => (output += chunk));
      child.stderr?.on('data', (chunk) => (output += chunk));
      child.once('error', (error) => {
        output += `could not run ${command}: ${error.message}\n`;
        resolve(1);
      });
      child.once('close', (c, signal) => {
        running.delete(child);
        resolve(c ?? (signal ? 128 : 1));
      });
    });
    if (code !== 0 || stopping) return { code: code || 1, output, seconds: (Date.now() - started) / 1000 };
  }
  return { code: 0, output, seconds: (Date.now() - started) / 1000 };
}

/** @param {NodeJS.Signals} signal */
function stopAll(signal) {
  stopping = true;
  process.exitCode = 130;
  for (const child of running) child.kill(signal);
}

for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.once(signal, () => stopAll(signal));

// The starter and its own parent (npm runs scripts through a shell): if either goes, so does the run.
const owners = [process.ppid, parentOf(process.ppid)].filter((pid) => pid > 1);
const watch = setInterval(() => {
  if (owners.some((pid) => !alive(pid))) stopAll('SIGTERM');
}, 500);
watch.unref();

const results = await Promise.all(chosen.map(run));
clearInterval(watch);
const lines = [];
results.forEach((result, i) => {
  const step = /** @type {Step} */ (chosen[i]);
  if (!step.live) process.stdout.write(`\n==> ${step.name}\n${result.output}`);
  lines.push(`  ${result.code === 0 ? 'ok    ' : 'FAILED'}  ${step.name}  (done ${result.seconds.toFixed(0)} s in)`);
});
if (chosen.length > 1) process.stdout.write(`\nnpm test: ${((Date.now() - started) / 1000).toFixed(0)} s after the build\n${lines.join('\n')}\n`);
if (results.some((r) => r.code !== 0)) process.exitCode = 1;

/**
 * The parent of process `pid` (Linux /proc), or 0 when unknown.
 * @param {number} pid
 */
function parentOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/**
 * Whether `pid` runs (a zombie does not).
 * @param {number} pid
 */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}
