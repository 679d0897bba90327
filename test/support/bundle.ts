/**
 * The built Lambda for the reliability and hijack tests, loaded fast and kept stable:
 * - a private copy of the bundle, taken once per test file, so a rebuild of dist/ while a
 *   soak runs (the build starts with `rm -rf dist`) cannot pull it out from under the run;
 * - imported by Node itself rather than through vitest's transform (about 1 s per import of
 *   the 1 MB bundle), since each run loads a fresh copy with its own configuration.
 * `EC2IP_BUNDLE=<path>` tests another build (e.g. a deliberately broken one) instead.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { afterAll } from 'vitest';
import { BUNDLE, type Handler } from './moto.js';

let pinned: string | undefined;
let pinnedDir: string | undefined;
let loads = 0;

// One copy per load adds up over a soak: the folder goes with the test file.
afterAll(() => {
  if (pinnedDir) rmSync(pinnedDir, { recursive: true, force: true });
});

/** The path of a copy of the bundle taken at the first call in this test file. */
export function pinnedBundle(): string {
  if (pinned) return pinned;
  const source = process.env.EC2IP_BUNDLE ?? fileURLToPath(BUNDLE);
  if (!existsSync(source)) throw new Error(`the Lambda bundle ${source} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'ec2ip-bundle-'));
  pinnedDir = dir;
  pinned = join(dir, 'index.mjs');
  copyFileSync(source, pinned);
  return pinned;
}

// Node's own loader, out of reach of vitest's module runner (Node 20.19+ loads ES modules with require).
const nativeRequire = createRequire(import.meta.url);

/**
 * Sets `env` on process.env (undefined deletes) and imports a fresh copy of the pinned
 * bundle, which reads its configuration at load time; returns its `handler`.
 */
export async function loadPinnedHandler(env: Record<string, string | undefined>): Promise<Handler> {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  // A module is evaluated once per path: each load gets its own copy of the file.
  const copy = pinnedBundle().replace(/\.mjs$/, `-${++loads}.mjs`);
  copyFileSync(pinnedBundle(), copy);
  const mod = nativeRequire(copy) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new Error(`${copy} does not export a handler function`);
  return mod.handler as Handler;
}
