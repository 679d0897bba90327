/** scripts/cli/npm-watch.ts: which command lines are npm's, and the walk up /proc to the nearest npm. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isNpmCommandLine, npmAncestor } from '../../scripts/cli/npm-watch.js';

describe('isNpmCommandLine', () => {
  it.each([
    [['npm run bench', '', ''], true],
    [['npm'], true],
    [['/usr/bin/npm', 'start'], true],
    [['npx vitest run'], true],
    [['node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'run', 'x'], true],
    [['/usr/local/bin/node', '/usr/lib/node_modules/npm/bin/npx-cli.js'], true],
  ])('%j is npm', (argv, expected) => expect(isNpmCommandLine(argv)).toBe(expected));

  it.each([
    [['sh', '-c', 'npm run build && vitest run']],
    [['node', 'dist/cli.mjs', 'demo']],
    [['node', '/work/npm-tools/run.mjs']],
    [['bash', '/dev/fd/3']],
    [['npmish']],
    [[]],
  ])('%j is not npm', (argv) => expect(isNpmCommandLine(argv)).toBe(false));
});

describe.runIf(process.platform === 'linux')('npmAncestor', () => {
  it('walks up from a shell to the npm that runs it', async () => {
    // What `npm run x` makes: npm (titled "npm run x", as npm titles itself) ← sh -c. A node
    // stands in for npm, in a group of its own so that the test kills both.
    const npm = spawn(process.execPath, ['-e', "process.title = 'npm run x'; require('child_process').spawn('sh', ['-c', 'sleep 30; true'], { stdio: 'ignore' }); setTimeout(() => {}, 30000)"], { stdio: 'ignore', detached: true });
    try {
      const parentOf = (pid: string) => {
        try {
          return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ')[1]);
        } catch {
          return 0;
        }
      };
      let shell: number | undefined;
      for (let i = 0; i < 150 && shell === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        shell = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && parentOf(n) === npm.pid).map(Number)[0];
      }
      expect(shell).toBeGreaterThan(0);
      expect(npmAncestor(shell)?.pid).toBe(npm.pid);
      // The walk starts at the process given, and an ancestor that is not npm is not taken for one.
      expect(npmAncestor(npm.pid)?.pid).toBe(npm.pid);
      expect(npmAncestor(process.pid)?.pid).not.toBe(process.pid);
    } finally {
      process.kill(-npm.pid!, 'SIGKILL');
    }
  });
});
