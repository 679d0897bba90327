/**
 * Nothing a run starts outlives it, and nothing it writes to the temporary folder stays: the
 * demo and a child vitest (what `npm test` starts: an emulator per worker, a test's sshd) are
 * SIGKILLed and every process they started must be gone within seconds, looked up by pid,
 * never by name; test files that pass or fail leave no `ec2ip-*` folder in a private TMPDIR.
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
