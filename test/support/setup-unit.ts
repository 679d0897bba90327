/**
 * Setup file of the `unit` project, run before each unit test file:
 * - registers the aws-sdk-client-mock matchers (toHaveReceivedCommandWith, toReceiveCommandTimes,
 *   …) on vitest's expect. The `/extend` entry calls expect.extend(allCustomMatcherWithAliases)
 *   and, with moduleResolution NodeNext, also brings the `Matchers` type augmentation;
 * - keeps the files apart although the project runs them without isolation (vitest.config.ts
 *   `isolate: false`: the SDK's packages load once per worker, not once per file). Before a
 *   file, our own modules are dropped from the module cache, so each file starts with fresh
 *   module state; after it, whatever it stubbed is put back: the `send` of every SDK client
 *   class (aws-sdk-client-mock's `mockClient(Class)` stubs the prototype), vi's spies, stubbed
 *   environment variables and fake timers.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import { afterAll, vi } from 'vitest';

vi.resetModules();

/** Every SDK client class of the @aws-sdk/client-* packages this repository depends on. */
async function sdkClientClasses(): Promise<{ prototype: object }[]> {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => name.startsWith('@aws-sdk/client-'));
  const modules = (await Promise.all(names.map((name) => import(name)))) as Record<string, unknown>[];
  return modules.flatMap((m) => Object.entries(m).filter(([key, value]) => key.endsWith('Client') && typeof value === 'function').map(([, value]) => value as { prototype: object }));
}

afterAll(async () => {
  for (const client of await sdkClientClasses()) {
    const send = Object.getOwnPropertyDescriptor(client.prototype, 'send')?.value as { restore?: () => void } | undefined;
    if (typeof send?.restore === 'function') send.restore();
  }
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
