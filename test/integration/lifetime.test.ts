/**
 * Nothing a run starts outlives it, and nothing it writes to the temporary folder stays: the
 * demo and a child vitest (what `npm test` starts: an emulator per worker, a test's sshd) are
 * SIGKILLed and every process they started must be gone within seconds, looked up by pid,
 * never by name; so is npm alone, under `npm run test:integration`, `npm start` and `npm run
 * bench` (its `sh -c` outlives it, so the step must notice npm itself); test files that pass
 * or fail leave no `ec2ip-*` folder in a private TMPDIR.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_BUNDLE, runCommand, tempDir } from '../support/cli.js';
import { ROOT } from '../support/installed.js';
import { REPRESENTATIVE } from '../fixtures/vitest.config.js';

const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'vitest.config.ts');

/** The state letter of /proc/PID/stat, or undefined when there is no such process. */
function state(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
  } catch {
    return undefined;
  }
}

/** Running (not gone, not a zombie waiting to be reaped). */
function running(pid: number): boolean {
  const s = state(pid);
  return s !== undefined && s !== 'Z';
}

/** The running processes of process group `group`. */
function groupMembers(group: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        // After "pid (comm) ": state, ppid, pgrp.
        return fields[0] !== 'Z' && Number(fields[2]) === group;
      } catch {
        return false;
      }
    });
}

/** The parent of every running process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? [];
      if (fields[0] !== 'Z') map.set(Number(name), Number(fields[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return map;
}

/** The running descendants of `root` (children, their children, …). */
function descendants(root: number): number[] {
  const ppid = parents();
  const found: number[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const next = [...ppid].filter(([, parent]) => frontier.includes(parent)).map(([pid]) => pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** The process group of `pid`, or undefined when it is gone. */
function groupOf(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Polls until none of `pids` runs and no process is left in the `groups`; returns what still runs after `ms`. */
async function leftAfter(ms: number, pids: number[], groups: number[] = []): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = [...pids.filter(running), ...groups.flatMap(groupMembers)];
    if (left.length === 0 || Date.now() > deadline) return [...new Set(left)];
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with the file's JSON once it has been written. */
async function waitForJson<T>(file: string, child: ReturnType<typeof spawn>, output: () => string): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (existsSync(file) && readFileSync(file, 'utf8')) return JSON.parse(readFileSync(file, 'utf8')) as T;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the child ended before writing ${file}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`the child wrote no ${file} within 90 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `probe` every 200 ms until it returns a value, or throws after `ms` with the output. */
async function until<T>(what: string, ms: number, probe: () => T | undefined, output: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs `npm args` in a process group of its own, waits for `ready` (given npm's pid and output)
 * to name the emulator it started, SIGKILLs npm alone and expects every process under it, and
 * the emulator's group and npm's, to be gone within 10 s (a loaded machine: npm's watchers poll
 * every 0.5 s, and the emulator gets SIGTERM, then SIGKILL after 3 s). Kills whatever is left.
 */
async function killNpmAlone(args: string[], env: NodeJS.ProcessEnv, ready: (npm: number, output: string) => number | undefined): Promise<void> {
  const child = spawn('npm', args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const npm = child.pid!;
  let held: number[] = [];
  let moto: number | undefined;
  try {
    moto = await until(`npm ${args.join(' ')} starting its emulator`, 180_000, () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm ${args.join(' ')} ended early:\n${output}`);
      return ready(npm, output);
    }, () => output);
    held = descendants(npm);
    // The step (node), its shell and the emulator at least; the emulator leads a group of its own.
    expect(held, output).toContain(moto);
    expect(held.length, output).toBeGreaterThanOrEqual(3);
    expect(groupOf(moto)).toBe(moto);
    // Not every one of `held` is checked to run still: the bench's short-lived children (its
    // cold-start nodes) come and go; one started after the snapshot is in npm's group.
    expect(running(moto)).toBe(true);
    process.kill(npm, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await leftAfter(10_000, held, [moto, npm]), output).toEqual([]);
  } finally {
    for (const pid of [...held, -npm, ...(moto ? [-moto] : [])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  }
}

/** The environment of an npm run: its own temporary folder and home, no update check. */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = childEnv({ TMPDIR: tempDir(), HOME: tempDir(), npm_config_update_notifier: 'false', ...extra });
  // npm sets its own; the ones of the npm running this test would only mislead.
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  env.npm_config_update_notifier = 'false';
  return env;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VITEST_MAX_WORKERS: '1', ...extra };
  // The child is a vitest run of its own, not a worker of this one.
  for (const key of Object.keys(env)) if (key.startsWith('VITEST_') && key !== 'VITEST_MAX_WORKERS') delete env[key];
  delete env.AWS_ENDPOINT_URL;
  return env;
}

describe('a killed run leaves no process behind', () => {
  it('the demo SIGKILLed: its emulator and the emulator\'s group are gone within 3 s', async () => {
    const child = spawn(process.execPath, [CLI_BUNDLE, 'demo'], { env: { PATH: process.env.PATH ?? '', HOME: tempDir(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let stderr = '';
    const moto = await new Promise<number>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /moto_server pid (\d+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', () => reject(new Error(`the demo ended before starting moto: ${stderr}`)));
    });
    expect(running(moto)).toBe(true);
    expect(groupMembers(moto)).toContain(moto);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await leftAfter(3_000, [moto], [moto])).toEqual([]);
  }, 60_000);

  it('a vitest run SIGKILLed (the main process alone): its emulator, its worker and the worker\'s sshd are gone within 3 s', async () => {
    const out = join(tempDir(), 'pids.json');
    const child = spawn(process.execPath, [VITEST, 'run', '--config', FIXTURES, 'test/fixtures/holds-servers.fixture.ts'], {
      cwd: ROOT,
      env: childEnv({ EC2IP_FIXTURE_OUT: out }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const held = await waitForJson<{ worker: number; motoPids: number[]; sshd: number; dir: string }>(out, child, () => output);
    expect(held.motoPids).toHaveLength(1);
    const pids = [held.worker, held.sshd, ...held.motoPids];
    expect(pids.filter(running)).toEqual(pids);
    expect(existsSync(held.dir)).toBe(true);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await leftAfter(3_000, pids, held.motoPids)).toEqual([]);
    // The worker removes its folders on the way out.
    expect(existsSync(held.dir)).toBe(false);
  }, 120_000);
});

describe('npm SIGKILLed alone (its `sh -c` lives on): nothing of the step is left', () => {
  it('npm run test:integration: the vitest run, its worker, the worker\'s sshd and the emulator are gone within 10 s', async () => {
    const out = join(tempDir(), 'pids.json');
    let held: { worker: number; sshd: number; motoPids: number[] } | undefined;
    await killNpmAlone(['run', 'test:integration', '--', '--config', FIXTURES, 'test/fixtures/holds-servers.fixture.ts'], npmEnv({ EC2IP_FIXTURE_OUT: out }), (npm) => {
      if (!existsSync(out) || !readFileSync(out, 'utf8')) return undefined;
      held = JSON.parse(readFileSync(out, 'utf8')) as typeof held;
      const under = descendants(npm);
      // What the fixture holds is all under npm, and still runs.
      expect([held!.worker, held!.sshd, ...held!.motoPids].filter((pid) => under.includes(pid) && running(pid))).toHaveLength(3);
      return held!.motoPids[0];
    });
    expect(held!.motoPids).toHaveLength(1);
    expect([held!.worker, held!.sshd, ...held!.motoPids].filter(running)).toEqual([]);
  }, 240_000);

  it('npm start (the demo): the demo and its emulator are gone within 10 s', async () => {
    await killNpmAlone(['start'], npmEnv(), (_npm, output) => {
      const match = /moto_server pid (\d+)/.exec(output);
      return match ? Number(match[1]) : undefined;
    });
  }, 240_000);

  it('npm run bench -- --only cold: the bench and its emulator are gone within 10 s', async () => {
    const results = join(tempDir(), 'results.json');
    await killNpmAlone(['run', 'bench', '--', '--only', 'cold', '--runs', '1', '--results', results], npmEnv(), (npm) =>
      // The emulator is the one process under npm that leads a process group of its own.
      descendants(npm).find((pid) => pid !== npm && groupOf(pid) === pid && running(pid)),
    );
    // Killed before it measured anything.
    expect(existsSync(results)).toBe(false);
  }, 240_000);
});

describe('a run leaves the temporary folder as it found it', () => {
  it('test files that pass (a unit file, the CLI against moto) and one that fails leave no ec2ip-* folder in the temporary folder', async () => {
    const tmp = tempDir();
    const out = join(tempDir(), 'made.json');
    const files = ['test/fixtures/fails-with-folders.fixture.ts', ...REPRESENTATIVE];
    const ran = await runCommand(process.execPath, [VITEST, 'run', '--config', FIXTURES, '--reporter', 'dot', ...files], childEnv({ TMPDIR: tmp, EC2IP_FIXTURE_OUT: out }), 300_000);
    const output = `${ran.stdout}\n${ran.stderr}`;
    expect(ran.code, output).toBe(1);
    expect(output).toContain('failing on purpose');
    expect(ran.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Test Files +1 failed \| 2 passed \(3\)/);
    // The failing file made its folders where the others made theirs, and they are gone too.
    const made = JSON.parse(readFileSync(out, 'utf8')) as string[];
    expect(made).toHaveLength(3);
    for (const dir of made) expect(dir.startsWith(`${tmp}/ec2ip-`), dir).toBe(true);
    expect(made.filter((dir) => existsSync(dir))).toEqual([]);
    expect(readdirSync(tmp).filter((name) => name.startsWith('ec2ip-'))).toEqual([]);
  }, 320_000);
});
