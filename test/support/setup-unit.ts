/**
 * Setup file of the `unit` project, run before each unit test file:
 * - registers the aws-sdk-client-mock matchers (toHaveReceivedCommandWith, toReceiveCommandTimes,
 *   …) on vitest's expect. The `/extend` entry calls expect.extend(allCustomMatcherWithAliases)
 *   and, with moduleResolution NodeNext, also brings the `Matchers` type augmentation;
 * - keeps the files apart although the project runs them without isolation (vitest.config.ts
 *   `isolate: false`: the SDK's packages load once per worker, not once per file). Before a
 *   file, our own modules are dropped from the module cache, so each file starts with fresh
 *   module state; after it, whatever it stubbed is put back: the `send` of every SDK client
 *   class (see restore-stubs.ts), vi's spies, stubbed environment variables and fake timers.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, vi } from 'vitest';
import { restoreClientStubs } from './restore-stubs.js';

vi.resetModules();

afterAll(() => {
  restoreClientStubs();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
