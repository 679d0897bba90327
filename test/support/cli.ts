/** Running the CLI in-process against moto, with its output captured. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../../scripts/cli/main.js';
import type { Io } from '../../scripts/cli/io.js';
import { stateChangeEvent } from './events.js';
import { loadHandler } from './moto.js';
import { dieWithParent } from './die-with-parent.js';
import { captureStdout } from './output.js';
import { tempFolder } from './temp.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Settings the CLI reads from the environment, cleared so a test sees only what it passes. */
const SETTINGS = ['HOSTED_ZONE_ID', 'PRIVATE_HOSTED_ZONE_ID', 'PARAMETER_PREFIX', 'OWNER_ID', 'RECORD_TTL', 'ON_STOP', 'LOG_LEVEL', 'AWS_PROFILE'];

/** An Io over a copy of process.env (which useMoto points at moto) plus `env`. */
export function fakeIo(env: Record<string, string | undefined> = {}, cwd = tempDir()): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of SETTINGS) delete base[key];
  return {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: { ...base, ...env },
    cwd,
    out: () => out,
    err: () => err,
  };
}

/** `ec2ip ARGS` in-process. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<Ran> {
  const io = fakeIo(env, cwd);
  const code = await main(args, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

/**
 * `ec2ip ARGS` in-process signed with `accessKeyId` (the person's, for the IAM audit): the SDK
 * reads the key from the process environment, so it is set there for the run.
 */
export async function cliAs(accessKeyId: string, args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<Ran> {
  const saved = process.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  try {
    return await cli(args, { ...env, AWS_ACCESS_KEY_ID: accessKeyId }, cwd);
  } finally {
    if (saved === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = saved;
  }
}

/** A new folder `<tmp>/ec2ip-cli-XXXXXX`, removed when the test file ends (test/support/temp.ts). */
export function tempDir(): string {
  return tempFolder('cli');
}

export const CLI_BUNDLE = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));

/** `node dist/cli.mjs ARGS` as a child process with exactly `env`. */
export function runBuilt(args: string[], env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<Ran> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`${CLI_BUNDLE} is missing: run \`npm run build\` first (npm run test:integration does)`);
  return runCommand(process.execPath, [CLI_BUNDLE, ...args], env as NodeJS.ProcessEnv, timeoutMs);
}

/** Runs a program with no stdin and a time limit; resolves with its exit code (128 if killed) and output. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // The time limit is this process's to enforce: if it is killed, the program ends with it.
    const [file, fileArgs] = dieWithParent(command, args);
    const child = spawn(file, fileArgs, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

let loaded: { key: string; handler: Awaited<ReturnType<typeof loadHandler>> } | undefined;

/** Publishes the instances as the deployed Lambda would: its built handler, one event each. */
export async function publish(zones: { publicZone?: string; privateZone?: string }, ids: string[], state = 'running'): Promise<void> {
  // Loading the bundle takes a second; zone ids are new after every reset, so the key tells tests apart.
  const key = `${zones.publicZone}|${zones.privateZone}`;
  if (loaded?.key !== key) loaded = { key, handler: await load(zones) };
  const { handler } = loaded;
  for (const id of ids) await captureStdout(() => handler(stateChangeEvent(id, state)));
}

function load(zones: { publicZone?: string; privateZone?: string }) {
  return loadHandler({
    HOSTED_ZONE_ID: zones.publicZone,
    PRIVATE_HOSTED_ZONE_ID: zones.privateZone,
    PARAMETER_PREFIX: undefined,
    OWNER_ID: undefined,
    ON_STOP: undefined,
    RECORD_TTL: undefined,
    LOG_LEVEL: 'ERROR',
  });
}
