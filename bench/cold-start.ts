/**
 * Goal 1: cold start. Times, from spawn to exit, fresh `node` processes that
 *   - import nothing (`empty`), and
 *   - import the bundle and handle one event whose state is already published (`cold`);
 * and, in-process, the same event on a warm handler (`warm`). The figure of merit is
 * (cold − warm) / empty: what the first event pays beyond its network time, in units of
 * an empty Node start. Runs are interleaved and medians taken, so drift hits both sides.
 */
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../scripts/package/scratch.mjs';

export interface ColdStartOptions {
  node: string;
  bundle: string;
  env: Record<string, string>;
  event: unknown;
  runs: number;
}

export interface ColdStartResult {
  node: string;
  nodeVersion: string;
  bundleKB: number;
  runs: number;
  emptyMs: number;
  coldMs: number;
  warmMs: number;
  /** Median over the runs of (cold − warm) / empty; the goal is ≤ 1.5. */
  ratio: number;
  /** The same in CPU time (user + system) of the processes: robust to other load on the machine. */
  cpu: { emptyMs: number; coldMs: number; warmMs: number; ratio: number };
}

const CHILD = fileURLToPath(new URL('../../bench/cold-child.mjs', import.meta.url));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Environment of a Lambda container as far as the SDK cares: env credentials, no ~/.aws. */
export function lambdaEnv(extra: Record<string, string>): Record<string, string> {
  // Gone when the bench ends; if it is killed, the next run's scratchDir removes it.
  const home = scratchDir('bench-home');
  process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'ec2ip-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

function run(node: string, args: string[], env: Record<string, string>): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${node} ${args[0]} ${args[1] ?? ''} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, stdout });
    });
  });
}

/** One cold process: imports the bundle and handles the event once. */
export async function coldOnce(node: string, bundle: string, env: Record<string, string>, event: unknown): Promise<void> {
  await run(node, [CHILD, 'cold', new URL(`file://${bundle}`).href, JSON.stringify(event)], env);
}

export async function measureColdStart(o: ColdStartOptions): Promise<ColdStartResult> {
  const event = JSON.stringify(o.event);
  const bundleUrl = new URL(`file://${o.bundle}`).href;
  const empty: number[] = [];
  const cold: number[] = [];
  const emptyCpu: number[] = [];
  const coldCpu: number[] = [];
  const cpuOf = (out: { stdout: string }) => (JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as { cpu: number }).cpu;
  // One unmeasured round warms the file cache.
  await run(o.node, [CHILD, 'empty'], o.env);
  await run(o.node, [CHILD, 'cold', bundleUrl, event], o.env);
  for (let i = 0; i < o.runs; i++) {
    const e = await run(o.node, [CHILD, 'empty'], o.env);
    const c = await run(o.node, [CHILD, 'cold', bundleUrl, event], o.env);
    empty.push(e.ms);
    cold.push(c.ms);
    emptyCpu.push(cpuOf(e));
    coldCpu.push(cpuOf(c));
  }
  const warmOut = await run(o.node, [CHILD, 'warm', bundleUrl, event, String(Math.max(10, o.runs))], o.env);
  const { times: warm, cpu: warmCpu } = JSON.parse(warmOut.stdout.trim().split('\n').pop() ?? '{}') as { times: number[]; cpu: number[] };
  const warmCpuMs = median(warmCpu);
  const version = (await runVersion(o.node)).trim();
  const emptyMs = median(empty);
  const coldMs = median(cold);
  const warmMs = median(warm);
  return {
    node: o.node,
    nodeVersion: version,
    bundleKB: Math.round(statSync(o.bundle).size / 1024),
    runs: o.runs,
    emptyMs: round(emptyMs),
    coldMs: round(coldMs),
    warmMs: round(warmMs),
    // Each cold run against the empty run just before it: both saw the same machine load.
    ratio: round(median(cold.map((c, i) => (c - warmMs) / (empty[i] as number))), 2),
    cpu: {
      emptyMs: round(median(emptyCpu)),
      coldMs: round(median(coldCpu)),
      warmMs: round(warmCpuMs),
      ratio: round(median(coldCpu.map((c, i) => (c - warmCpuMs) / (emptyCpu[i] as number))), 2),
    },
  };
}

function runVersion(node: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
