/**
 * Vitest globalSetup for the `integration` project: one moto server per run, started on a
 * free 127.0.0.1 port by the same code as `ec2ip demo` (scripts/cli/emulator.ts, which runs
 * scripts/moto-server.py: moto with Route 53's CREATE behaving as on AWS). Its URL reaches
 * the test files as `inject('motoEndpoint')`. Never skips: if moto is missing or dies, the
 * run fails with a message saying how to fix it.
 */
import type { TestProject } from 'vitest/node';
import { startEmulator } from '../../scripts/cli/emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared moto server, e.g. `http://127.0.0.1:40123`. */
    motoEndpoint: string;
  }
}

const INSTALL_HINT = 'The integration tests need moto, the local AWS emulator: pip install "moto[server]" (or run .ci/run, which does it).';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let emulator;
  try {
    emulator = await startEmulator();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${INSTALL_HINT}`, { cause: error });
  }
  const { endpoint } = emulator;
  // From here on a dying server should be loud, not a wall of ECONNREFUSED.
  emulator.onUnexpectedExit((code, signal) => {
    console.error(`[moto] the emulator at ${endpoint} died during the run (code ${code}, signal ${signal}).\n${emulator.output()}`);
  });
  project.provide('motoEndpoint', endpoint);
  return () => emulator.stop();
}
