/**
 * `npm run bench`: the performance goals of issue 7, measured as ratios within one run.
 *
 *   npm run bench                                   everything (~6–8 minutes on 2 cores)
 *   npm run bench -- --only cold,rounds             some sections: cold, rounds, burst (and hub), hub, throttle, connect
 *   npm run bench -- --only connect                 ssh directly vs through ec2ip proxy, and after a start (real sshd; not in the default set)
 *   npm run bench -- --runs 25 --instances 500 --throttle-instances 500 --latency 100
 *   npm run bench -- --bundle path/to/other/index.mjs   measure another build of the Lambda
 *
 * Prints a table and writes bench/results.json. Starts its own moto_server.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { lambdaOptions } from '../scripts/esbuild/options.mjs';
import { node22 } from '../scripts/node22.mjs';
import { stateChangeEvent } from '../test/support/events.js';
import { countCalls, startProxy } from '../test/support/aws-proxy.js';
import { coldOnce, lambdaEnv, measureColdStart, type ColdStartResult } from './cold-start.js';
import { createZone, runInstances, seeder } from './lib/aws.js';
import { startMoto } from './lib/moto-server.js';
import { onNpmGone } from '../scripts/cli/npm-watch.js';
import { CLI_BUNDLE, connectBench, type ConnectResult } from './connect.js';
import { burst, hubBurst, roundTrips, throttledBurst, type BurstResult, type HubBurstResult, type QueueModel, type RoundTripCase, type ThrottledResult } from './scenarios.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: 'string' },
    /** Measure another build of the Lambda (e.g. one with bench/engine-proposal.patch applied) instead of dist/. */
    bundle: { type: 'string' },
    /** Where to write the results (default bench/results.json). */
    results: { type: 'string' },
    runs: { type: 'string', default: '15' },
    latency: { type: 'string', default: '200' },
    instances: { type: 'string', default: '500' },
    'throttle-instances': { type: 'string', default: '100' },
    /** Extra Lambda environment for the throttled burst, e.g. --throttle-env AWS_RETRY_MODE=adaptive. */
    'throttle-env': { type: 'string', multiple: true },
  },
});
const sections = new Set((args.only ?? 'cold,rounds,burst,throttle').split(','));
const RUNS = Number(args.runs);
const LATENCY = Number(args.latency);
const INSTANCES = Number(args.instances);
const THROTTLE_INSTANCES = Number(args['throttle-instances']);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORK = fileURLToPath(new URL('./', import.meta.url));
// A private copy: other builds in this tree (npm test, npm run build) wipe dist/.
const BUNDLE = join(WORK, 'lambda', 'sync', 'index.mjs');
mkdirSync(dirname(BUNDLE), { recursive: true });
copyFileSync(args.bundle ?? join(ROOT, 'dist/sync/index.mjs'), BUNDLE);
// Node 22 (the Lambda runtime's version) comes from scripts/node22.mjs; the machine's Node runs the bench.
const NODE22 = node22();
const NODE_SYSTEM = process.execPath;

// The handler logs JSON lines to stdout: keep them out of the table.
const stdout = process.stdout.write.bind(process.stdout);
const print = (line = '') => stdout(`${line}\n`);
process.stdout.write = (() => true) as typeof process.stdout.write;

const RESULTS = args.results ?? fileURLToPath(new URL('../../bench/results.json', import.meta.url));
// With --only, the sections not run keep their figures from the last run.
const previous = args.only && existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : {};
const results: Record<string, unknown> = {
  ...previous,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  bundle: args.bundle ?? 'dist/sync/index.mjs',
};

const moto = await startMoto();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void moto.stop().finally(() => process.exit(130)));
}
// Under `npm run bench` a SIGKILLed npm leaves the bench's shell running: end as if signalled.
const npmWatch = onNpmGone(() => process.kill(process.pid, 'SIGTERM'), process.env);
const started = performance.now();
try {
  const stamp = <T,>(value: T) => ({ measuredAt: new Date().toISOString(), bundle: args.bundle ?? 'dist/sync/index.mjs', ...value });
  if (sections.has('cold')) results.coldStart = stamp(await cold());
  if (sections.has('rounds')) results.roundTrips = stamp({ cases: await rounds() });
  if (sections.has('burst')) results.burst = stamp(await burstSection());
  if (sections.has('burst') || sections.has('hub')) results.hubBurst = stamp(await hubSection());
  if (sections.has('throttle')) results.throttled = stamp(await throttleSection());
  if (sections.has('connect')) results.connect = stamp(await connectSection());
} finally {
  clearInterval(npmWatch);
  await moto.stop();
}
results.benchSeconds = Math.round((performance.now() - started) / 1000);
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
print(`\nwrote ${RESULTS} (${results.benchSeconds as number} s)`);

// ------------------------------------------------------------------------------ sections

async function connectSection(): Promise<ConnectResult> {
  const runs = args.runs === '15' ? 10 : RUNS;
  print(`\n== Connect: ssh web true directly and through ec2ip proxy (median of ${runs} interleaved runs, goal ≤ 1.25); after a start, sshd accepting → ssh done (goal ≤ 1 s)`);
  const r = await connectBench(moto, CLI_BUNDLE, runs);
  table(
    ['case', 'median ms', 'runs (ms)', 'goal'],
    [
      ['ssh web true, direct', String(r.directMedianMs), r.directMs.join(' '), ''],
      ['ssh web true, through ec2ip proxy', String(r.proxyMedianMs), r.proxyMs.join(' '), `ratio ${r.ratio} (≤ ${r.goalRatio}: ${r.ratio <= r.goalRatio ? 'met' : 'not met'})`],
      [
        'after a start: sshd accepting → ssh done',
        String(r.afterStart.medianMs),
        r.afterStart.acceptToConnectedMs.join(' '),
        `≤ ${r.afterStart.goalMs} ms: ${r.afterStart.medianMs <= r.afterStart.goalMs ? 'met' : 'not met'}; StartInstances per connection ${r.afterStart.startInstancesCalls.join(',')}`,
      ],
    ],
  );
  return r;
}

async function cold(): Promise<unknown> {
  print(`\n== 1. Cold start: (cold − warm) / empty, median of ${RUNS} interleaved runs (goal ≤ 1.5; bundle ≤ 400 KB)`);
  const s = seeder(moto.endpoint);
  await moto.reset();
  const env0 = { HOSTED_ZONE_ID: await createZone(s, 'example.com'), PRIVATE_HOSTED_ZONE_ID: await createZone(s, 'internal.example', true) };
  const [id] = await runInstances(s, 1, 'web');
  const event = stateChangeEvent(id as string, 'running');
  const env = lambdaEnv({ AWS_ENDPOINT_URL: moto.endpoint, ...env0 });

  // The build steps, each on top of the previous one; the last is what `npm run build` ships.
  const variants: { step: string; bundle: string }[] = [];
  for (const [step, options] of [
    ['plain esbuild (module main field, minify)', { pruneSchemas: false, lambdaCredentials: false, dropErrorClasses: false }],
    ['+ prune unused SDK schemas (plugin)', { pruneSchemas: true, lambdaCredentials: false, dropErrorClasses: false }],
    ['+ Lambda-only credential chain', { pruneSchemas: true, lambdaCredentials: true, dropErrorClasses: false }],
  ] as const) {
    const dir = join(WORK, 'variants', String(variants.length));
    await build({ ...lambdaOptions(dir, options), absWorkingDir: ROOT, sourcemap: false, logLevel: 'error' });
    variants.push({ step, bundle: join(dir, 'sync', 'index.mjs') });
  }
  variants.push({ step: '+ SDK error classes dropped (shipped bundle)', bundle: BUNDLE });

  // The floor: the SDK alone making the same reads, built the same way (bench/sdk-floor.ts).
  const floorDir = join(WORK, 'variants', 'floor');
  await build({ ...lambdaOptions(floorDir), entryPoints: { 'sync/index': join(ROOT, 'bench/sdk-floor.ts') }, absWorkingDir: ROOT, sourcemap: false, logLevel: 'error' });
  const FLOOR = join(floorDir, 'sync', 'index.mjs');

  // Publish the state once, so the measured event only reads.
  await measureColdStart({ node: NODE_SYSTEM, bundle: BUNDLE, env, event, runs: 1 });
  // The floor must make exactly the handler's calls, or it is no floor.
  const calls = await callsOfOneColdEvent([BUNDLE, FLOOR], env, event);
  if (JSON.stringify(calls[0]) !== JSON.stringify(calls[1])) throw new Error(`the SDK floor does not make the handler's calls: handler ${JSON.stringify(calls[0])}, floor ${JSON.stringify(calls[1])}`);
  print(`  the measured event's calls (the handler's and the floor's): ${formatCalls(calls[0] ?? {})}`);

  const rows: (ColdStartResult & { step: string })[] = [];
  for (const v of variants) rows.push({ step: v.step, ...(await measureColdStart({ node: NODE_SYSTEM, bundle: v.bundle, env, event, runs: RUNS })) });
  rows.push({ step: 'shipped bundle, Node 22 (the Lambda runtime)', ...(await measureColdStart({ node: NODE22, bundle: BUNDLE, env, event, runs: RUNS })) });
  rows.push({ step: 'floor: the SDK alone, same reads, same build', ...(await measureColdStart({ node: NODE_SYSTEM, bundle: FLOOR, env, event, runs: RUNS })) });
  rows.push({ step: 'floor, Node 22', ...(await measureColdStart({ node: NODE22, bundle: FLOOR, env, event, runs: RUNS })) });

  table(
    ['step', 'node', 'bundle KB', 'empty ms', 'cold ms', 'warm ms', 'ratio', 'CPU ms e/c/w', 'CPU ratio', 'goal'],
    rows.map((r) => [r.step, r.nodeVersion, r.bundleKB, r.emptyMs, r.coldMs, r.warmMs, r.ratio, `${r.cpu.emptyMs}/${r.cpu.coldMs}/${r.cpu.warmMs}`, r.cpu.ratio, r.ratio <= 1.5 && r.bundleKB <= 400 ? 'met' : 'not met']),
  );
  return { runs: RUNS, event: 'running, state already published (reads only)', calls: calls[0], steps: rows };
}

/** The calls one cold process of each bundle makes for the event, counted by a proxy in front of moto. */
async function callsOfOneColdEvent(bundles: string[], env: Record<string, string>, event: unknown): Promise<Record<string, number>[]> {
  const proxy = await startProxy({ target: moto.endpoint });
  try {
    const out: Record<string, number>[] = [];
    for (const bundle of bundles) {
      proxy.requests.length = 0;
      await coldOnce(NODE_SYSTEM, bundle, { ...env, AWS_ENDPOINT_URL: proxy.url }, event);
      out.push(Object.fromEntries(Object.entries(countCalls(proxy.requests)).sort()));
    }
    return out;
  } finally {
    await proxy.stop();
  }
}

async function rounds(): Promise<RoundTripCase[]> {
  print(`\n== 2. Round trips: one running event, new instance, both zones, warm Lambda, every request delayed by L = ${LATENCY} ms`);
  const cases = [
    await roundTrips(moto, BUNDLE, { latencyMs: LATENCY, large: false, samples: 3 }),
    await roundTrips(moto, BUNDLE, { latencyMs: LATENCY, large: true, samples: 3 }),
  ];
  table(
    ['case', 'rounds', 'elapsed / L', 'moto ms/request', 'goal', 'calls'],
    cases.map((c) => [c.name, c.rounds.join(','), c.elapsedInL, c.motoMsPerRequest, `${c.goalRounds} rounds${c.records ? '' : ', 2.5 L'}: ${c.met ? 'met' : 'not met'}`, formatCalls(c.calls)]),
  );
  for (const c of cases) print(`  ${c.name}: slowest moto answer per action (ms beyond L): ${formatCalls(c.motoMsMax)}`);
  return cases;
}

async function burstSection(): Promise<BurstResult> {
  // The batches the deployed event source mapping delivers (infra/template.yaml's BatchSize).
  const { batchSize } = queueModel();
  print(`\n== 3. Burst: ${INSTANCES} instances start, SQS batches of ${batchSize} (the template's BatchSize), against one event per invocation (no delay)`);
  const r = await burst(moto, BUNDLE, { instances: INSTANCES, batchSize });
  table(
    ['batch', 'events', 'DescribeInstances', 'ChangeRRSets per zone', 'PutParameter', 'calls', 'failed items'],
    r.batches.map((b, i) => [i + 1, b.events, b.describeInstances, Object.values(b.changesPerZone).join(' / ') || '0', b.putParameter, b.total, b.failed]),
  );
  table(
    ['delivery', 'calls per event', 'calls'],
    [
      [`batched (SQS, ${batchSize} per invocation)`, r.batchedCallsPerEvent, formatCalls(r.batchedCalls)],
      ['naive (one event per invocation)', r.naiveCallsPerEvent, formatCalls(r.naiveCalls)],
      ['the same batches again (duplicates)', round2(Object.values(r.duplicateCalls).reduce((a, b) => a + b, 0) / r.instances), formatCalls(r.duplicateCalls)],
    ],
  );
  print(`  converged: ${r.converged}; goal (≤ 1 DescribeInstances and ≤ 1 change batch per zone per batch, no PutParameter for unchanged values): ${r.goalMet ? 'met' : 'not met'}`);
  return r;
}

async function hubSection(): Promise<HubBurstResult> {
  print('\n== 3b. A hub\'s burst: 50 instances start in each of two accounts (two regions); their 100 events come as one SQS batch');
  const r = await hubBurst(moto, BUNDLE, { instancesPerSpoke: 50 });
  const row = (label: string, c: HubBurstResult['first']) => [
    [`${label}: the hub's AssumeRole calls`, c.assumeRole],
    ...r.spokes.map((sp) => [`${label}: account ${sp}`, formatCalls(c.perSpoke[sp] ?? {})]),
    [`${label}: Route 53 change batches per zone`, Object.values(c.changesPerZone).join(' / ') || '0'],
    [`${label}: calls in all, failed items`, `${c.total}, ${c.failed}`],
  ];
  table(['batch spanning two accounts', 'calls'], [...row('first delivery', r.first), ...row('the same batch again', r.again)]);
  print(`  converged: ${r.converged}; goal (one change batch per zone for the whole batch, one AssumeRole per spoke and ≤ 1 DescribeInstances per account, nothing written or assumed again on a duplicate): ${r.goalMet ? 'met' : 'not met'}`);
  return r;
}

async function throttleSection(): Promise<{ runs: ThrottledResult[] }> {
  const queue = queueModel();
  print(`\n== 4. Burst under throttling: ${THROTTLE_INSTANCES} instances, Route 53 ≤ 5 req/s, PutParameter ≤ 3/s, through AWS's SQS rules (infra/template.yaml)`);
  print(`  queue: visibility timeout ${queue.visibilityTimeoutS} s, DLQ after ${queue.maxReceiveCount} receives; mapping: batches of ${queue.batchSize}, batching window ${queue.batchingWindowS} s, at most ${queue.maximumConcurrency} at once`);
  print('  simulated time: the real clock while an invocation runs; with none running and nothing receivable, it jumps to the next visibility or window end');
  const env = Object.fromEntries((args['throttle-env'] ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (Object.keys(env).length) print(`  Lambda environment: ${JSON.stringify(env)}`);
  const runs: ThrottledResult[] = [];
  for (const backoff of [true, false]) runs.push(await throttledBurst(moto, BUNDLE, { instances: THROTTLE_INSTANCES, queue, backoff, env }));
  table(
    ['retry delay', 'simulated s to converge', 'of which skipped', 'real s', 'invocations', 'redeliveries', 'max receives', 'DLQ', '1st failure: delay set, s to next receive (median/max)', 'throttled answers', 'goal'],
    runs.map((r) => [
      r.backoff ? 'backoff (the handler sets it)' : `none (call refused: queue's ${queue.visibilityTimeoutS} s)`,
      r.secondsToConverge,
      r.skippedSeconds,
      r.realSeconds,
      r.invocations,
      r.redeliveries,
      r.maxReceives,
      r.dlq,
      r.firstRetry.items ? `${r.firstRetry.items} items: ${r.firstRetry.delaySetS.join('/')} s; ${r.firstRetry.medianSecondsToNextReceive}/${r.firstRetry.maxSecondsToNextReceive} s` : 'none failed',
      r.throttledAnswers,
      r.backoff ? (r.goalMet ? 'met' : 'not met') : r.converged && r.dlq === 0 ? 'converged' : 'not converged',
    ]),
  );
  for (const r of runs) print(`  ${r.backoff ? 'backoff' : 'none'}: calls: ${formatCalls(r.calls)}; ChangeMessageVisibilityBatch ${r.visibilityCalls.calls} (${r.visibilityCalls.entries} entries set, ${r.visibilityCalls.refused} refused)`);
  print(`  floor set by the limits: ${3 * THROTTLE_INSTANCES} PutParameter at 3/s = ${THROTTLE_INSTANCES} s; goal: converge within 1.2 × the floor with nothing in the DLQ`);
  return { runs };
}

/** The queue and event source mapping as infra/template.yaml deploys them. */
function queueModel(): QueueModel {
  const text = readFileSync(join(ROOT, 'infra/template.yaml'), 'utf8');
  const number = (key: string) => {
    const m = new RegExp(`^\\s*${key}: (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`infra/template.yaml has no ${key}`);
    return Number(m[1]);
  };
  return { visibilityTimeoutS: number('VisibilityTimeout'), maxReceiveCount: number('maxReceiveCount'), batchSize: number('BatchSize'), batchingWindowS: number('MaximumBatchingWindowInSeconds'), maximumConcurrency: number('MaximumConcurrency') };
}

// ------------------------------------------------------------------------------ output

function formatCalls(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.split(':').pop()} ${v}`)
    .join(', ');
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function table(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  print(line(head));
  print(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) print(line(r));
}
