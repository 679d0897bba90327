/**
 * Vitest globalSetup for the `integration` project: one moto server per vitest worker, so test
 * files run in parallel and each still has an emulator of its own (reset before each test by
 * `useMoto()`). Each is started on a free 127.0.0.1 port by the same code as `ec2ip demo`
 * (scripts/cli/emulator.ts, which runs scripts/moto-server.py: moto with Route 53's CREATE
 * behaving as on AWS, ending by itself if this process is killed). A worker finds its own as
 * `motoEndpoints[VITEST_POOL_ID - 1]` (test/support/moto.ts `motoEndpoint()`). Never skips:
 * if moto is missing or dies, the run fails with a message saying how to fix it.
 */
import { availableParallelism } from 'node:os';
import type { TestProject } from 'vitest/node';
import { startEmulator, type Emulator } from '../../scripts/cli/emulator.js';
import { onNpmGone } from '../../scripts/cli/npm-watch.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the first moto server, e.g. `http://127.0.0.1:40123` (use `motoEndpoint()`, which picks the worker's own). */
    motoEndpoint: string;
    /** One moto server per vitest worker: worker `VITEST_POOL_ID` uses entry `VITEST_POOL_ID - 1`. */
    motoEndpoints: string[];
    /** The servers' process ids (each leads a process group of its own), in the order of `motoEndpoints`. */
    motoPids: number[];
  }
}

const INSTALL_HINT = 'The integration tests need moto, the local AWS emulator: pip install "moto[server]" (or run .ci/run, which does it).';

/** How many workers vitest runs at once for this project (VITEST_POOL_ID goes from 1 to this); vitest's own rule. */
export function workerCount(project: TestProject): number {
  const configured = project.config.maxWorkers || project.vitest.config.maxWorkers;
  if (configured) return configured;
  return Math.max(availableParallelism() - 1, 1);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const count = workerCount(project);
  const emulators: Emulator[] = [];
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startEmulator({ onSpawn: (emulator) => void emulators.push(emulator) })),
  );
  const stopAll = () => Promise.all(emulators.map((emulator) => emulator.stop())).then(() => undefined);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopAll();
    const error = failed.reason as Error;
    throw new Error(`${error.message}\n${INSTALL_HINT}`, { cause: error });
  }
  const ready = started.map((s) => (s as PromiseFulfilledResult<Emulator>).value);
  for (const emulator of ready) {
    // From here on a dying server should be loud, not a wall of ECONNREFUSED.
    emulator.onUnexpectedExit((code, signal) => {
      console.error(`[moto] the emulator at ${emulator.endpoint} died during the run (code ${code}, signal ${signal}).\n${emulator.output()}`);
    });
  }
  project.provide('motoEndpoints', ready.map((e) => e.endpoint));
  project.provide('motoEndpoint', ready[0]!.endpoint);
  project.provide('motoPids', ready.map((e) => e.pid));
  const watches = endWithParent();
  return async () => {
    for (const watch of watches) clearInterval(watch);
    await stopAll();
  };
}

/**
 * Ends this vitest run (SIGTERM to itself) once the process that started it is gone, e.g.
 * scripts/run-tests.mjs killed with SIGKILL, or the npm above it (`npm run test:integration`
 * runs vitest under `sh -c`, which outlives a SIGKILLed npm): nobody would read the run's
 * result, and its emulators and workers end with it.
 */
function endWithParent(): NodeJS.Timeout[] {
  const parent = process.ppid;
  const end = () => process.kill(process.pid, 'SIGTERM');
  const timer = setInterval(() => {
    if (process.ppid !== parent) end();
  }, 500);
  timer.unref();
  const npm = onNpmGone(end, process.env);
  return npm ? [timer, npm] : [timer];
}
