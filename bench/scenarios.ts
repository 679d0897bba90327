/**
 * Goals 2–4: the built Lambda in this process, against moto behind the test proxy
 * (test/support/aws-proxy.ts), which delays, rate-limits and logs every AWS request.
 */
import { pathToFileURL } from 'node:url';
import { stateChangeEvent, sqsEvent } from '../test/support/events.js';
import { countCalls, sequentialRounds, startProxy, type AwsProxy, type ProxyRequest, type RateLimit } from '../test/support/aws-proxy.js';
import { countParameters, countRecords, createZone, fillParameters, fillZone, runInstances, seeder, spokeSeeder, type Seeder } from './lib/aws.js';
import type { Moto } from './lib/moto-server.js';
import { median, round } from './cold-start.js';

type Handler = (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

let loads = 0;

/** Imports a fresh copy of the bundle with `env` (it reads its configuration at load). */
async function loadHandler(bundle: string, env: Record<string, string>): Promise<Handler> {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    AWS_REGION: 'us-east-1',
    ...env,
  });
  const url = pathToFileURL(bundle);
  url.searchParams.set('load', String(++loads));
  const mod = (await import(url.href)) as { handler: Handler };
  return mod.handler;
}

interface Deployment {
  s: Seeder;
  publicZone: string;
  privateZone: string;
}

async function deploy(moto: Moto): Promise<Deployment> {
  await moto.reset();
  const s = seeder(moto.endpoint);
  return { s, publicZone: await createZone(s, 'example.com'), privateZone: await createZone(s, 'internal.example', true) };
}

function lambdaEnv(d: Deployment, proxy: AwsProxy): Record<string, string> {
  return { AWS_ENDPOINT_URL: proxy.url, HOSTED_ZONE_ID: d.publicZone, PRIVATE_HOSTED_ZONE_ID: d.privateZone, PARAMETER_PREFIX: '/ec2ip' };
}

function failures(out: unknown): string[] {
  return ((out as { batchItemFailures?: { itemIdentifier: string }[] } | undefined)?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
}

// ------------------------------------------------------------------------------ goal 2

export interface RoundTripCase {
  name: string;
  records: number;
  parameters: number;
  latencyMs: number;
  samples: number;
  /** Median of elapsed / L over the samples. */
  elapsedInL: number;
  elapsedMs: number[];
  rounds: number[];
  calls: Record<string, number>;
  /** Median time moto itself took per request (end − start − L): it adds to every round. */
  motoMsPerRequest: number;
  /** Per action, the longest time moto took for one request (ms beyond L). */
  motoMsMax: Record<string, number>;
  goalRounds: number;
  met: boolean;
}

/**
 * One `running` event for a new instance in both zones on a warm Lambda, with every request
 * delayed by L. `large` fills each zone with 1,000 records and the prefix with 500 instances'
 * parameters first.
 */
export async function roundTrips(moto: Moto, bundle: string, { latencyMs, large, samples }: { latencyMs: number; large: boolean; samples: number }): Promise<RoundTripCase> {
  const d = await deploy(moto);
  if (large) {
    await Promise.all([fillZone(d.s, d.publicZone, 'example.com', 1000), fillZone(d.s, d.privateZone, 'internal.example', 1000), fillParameters(d.s, '/ec2ip', 500)]);
  }
  const ids = await runInstances(d.s, samples + 1, 'rt-');
  const proxy = await startProxy({ target: moto.endpoint, delayMs: latencyMs });
  try {
    const handler = await loadHandler(bundle, lambdaEnv(d, proxy));
    // Warm up: the first event pays the cold start and learns the zones' names.
    const warm = await handler(stateChangeEvent(ids[0] as string, 'running'));
    if (failures(warm).length) throw new Error('warm-up event failed');
    const elapsed: number[] = [];
    const rounds: number[] = [];
    let calls: Record<string, number> = {};
    const service: number[] = [];
    const slowest: Record<string, number> = {};
    for (const id of ids.slice(1)) {
      // Each sample is one event on its own, as the goal says: let client-side rate
      // limiters (a paced build) recover from the previous one.
      await new Promise((r) => setTimeout(r, 1500));
      proxy.requests.length = 0;
      const t0 = performance.now();
      await handler(stateChangeEvent(id, 'running'));
      elapsed.push(round(performance.now() - t0));
      rounds.push(sequentialRounds(proxy.requests));
      calls = countCalls(proxy.requests);
      for (const r of proxy.requests) {
        if (r.end === undefined) continue;
        service.push(r.end - r.start - latencyMs);
        slowest[r.action] = round(Math.max(slowest[r.action] ?? 0, r.end - r.start - latencyMs));
      }
    }
    const goalRounds = large ? 3 : 2;
    const elapsedInL = round(median(elapsed) / latencyMs, 2);
    return {
      name: large ? 'new instance, 1,000 records/zone, 500 instances under the prefix' : 'new instance, small deployment',
      records: large ? 1000 : 0,
      parameters: large ? 1500 : 0,
      latencyMs,
      samples,
      elapsedInL,
      elapsedMs: elapsed,
      rounds,
      calls,
      motoMsPerRequest: round(median(service)),
      motoMsMax: slowest,
      goalRounds,
      // Small: two rounds and 2.5 L. Large: three rounds (moto's own time for 1,000-record
      // zones is not AWS latency, so elapsed / L is reported, not judged).
      met: Math.max(...rounds) <= goalRounds && (large || elapsedInL <= 2.5),
    };
  } finally {
    await proxy.stop();
  }
}

// ------------------------------------------------------------------------------ goal 3

export interface BatchCalls {
  events: number;
  describeInstances: number;
  /** ChangeResourceRecordSets per zone id. */
  changesPerZone: Record<string, number>;
  putParameter: number;
  total: number;
  failed: number;
}

export interface BurstResult {
  instances: number;
  batchSize: number;
  batches: BatchCalls[];
  batchedCallsPerEvent: number;
  batchedCalls: Record<string, number>;
  naiveCallsPerEvent: number;
  naiveCalls: Record<string, number>;
  /** The same events delivered again once everything is published. */
  duplicateCalls: Record<string, number>;
  converged: boolean;
  goalMet: boolean;
  seconds: { batched: number; naive: number };
}

function batchCalls(log: readonly ProxyRequest[], events: number, failed: number): BatchCalls {
  const changesPerZone: Record<string, number> = {};
  for (const r of log) {
    if (r.action !== 'ChangeResourceRecordSets') continue;
    const zone = /hostedzone\/([^/]+)\/rrset/.exec(r.path)?.[1] ?? '?';
    changesPerZone[zone] = (changesPerZone[zone] ?? 0) + 1;
  }
  return {
    events,
    describeInstances: log.filter((r) => r.action === 'DescribeInstances').length,
    changesPerZone,
    putParameter: log.filter((r) => r.action === 'PutParameter').length,
    total: log.length,
    failed,
  };
}

async function converged(d: Deployment, names: number): Promise<boolean> {
  const [pub, priv, params] = await Promise.all([countRecords(d.s, d.publicZone), countRecords(d.s, d.privateZone), countParameters(d.s, '/ec2ip')]);
  // SOA + NS, then A + ownership TXT per name; three parameters per name.
  return pub === 2 + 2 * names && priv === 2 + 2 * names && params.size === 3 * names;
}

/** 500 instances start; their events come as SQS batches of 100, against one event per invocation. */
export async function burst(moto: Moto, bundle: string, { instances, batchSize }: { instances: number; batchSize: number }): Promise<BurstResult> {
  // Batched.
  let d = await deploy(moto);
  let ids = await runInstances(d.s, instances, 'b-');
  let proxy = await startProxy({ target: moto.endpoint });
  // No rate limit here: a build that paces PutParameter (bench/engine-proposal.patch) may go flat out.
  process.env.EC2IP_PUT_PARAMETER_RATE = '1000';
  const batches: BatchCalls[] = [];
  let batchedCalls: Record<string, number> = {};
  let duplicateCalls: Record<string, number> = {};
  let ok = false;
  const tBatched = performance.now();
  try {
    const handler = await loadHandler(bundle, lambdaEnv(d, proxy));
    const events = ids.map((id) => stateChangeEvent(id, 'running'));
    for (let i = 0; i < events.length; i += batchSize) {
      const from = proxy.requests.length;
      const chunk = events.slice(i, i + batchSize);
      const out = await handler(sqsEvent(chunk));
      batches.push(batchCalls(proxy.requests.slice(from), chunk.length, failures(out).length));
    }
    batchedCalls = countCalls(proxy.requests);
    ok = await converged(d, instances);
    const from = proxy.requests.length;
    for (let i = 0; i < events.length; i += batchSize) await handler(sqsEvent(events.slice(i, i + batchSize)));
    duplicateCalls = countCalls(proxy.requests.slice(from));
  } finally {
    await proxy.stop();
  }
  const batchedSeconds = (performance.now() - tBatched) / 1000;

  // Naive baseline: one invocation per event.
  d = await deploy(moto);
  ids = await runInstances(d.s, instances, 'b-');
  proxy = await startProxy({ target: moto.endpoint });
  let naiveCalls: Record<string, number> = {};
  const tNaive = performance.now();
  try {
    const handler = await loadHandler(bundle, lambdaEnv(d, proxy));
    for (const id of ids) await handler(stateChangeEvent(id, 'running'));
    naiveCalls = countCalls(proxy.requests);
    ok = ok && (await converged(d, instances));
  } finally {
    await proxy.stop();
  }
  const naiveSeconds = (performance.now() - tNaive) / 1000;
  delete process.env.EC2IP_PUT_PARAMETER_RATE;

  const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
  const goalMet =
    ok &&
    batches.every((b) => b.describeInstances <= 1 && Object.values(b.changesPerZone).every((n) => n <= 1) && b.failed === 0) &&
    (duplicateCalls['ssm:PutParameter'] ?? 0) === 0 &&
    (duplicateCalls['route53:ChangeResourceRecordSets'] ?? 0) === 0;
  return {
    instances,
    batchSize,
    batches,
    batchedCallsPerEvent: round(sum(batchedCalls) / instances, 2),
    batchedCalls,
    naiveCallsPerEvent: round(sum(naiveCalls) / instances, 2),
    naiveCalls,
    duplicateCalls,
    converged: ok,
    goalMet,
    seconds: { batched: round(batchedSeconds), naive: round(naiveSeconds) },
  };
}

// ------------------------------------------------------------------------------ goal 4

export interface ThrottledResult {
  /** Extra Lambda environment of this run (e.g. AWS_RETRY_MODE). */
  env: Record<string, string>;
  instances: number;
  batchSize: number;
  concurrency: number;
  rateLimits: RateLimit[];
  invocations: number;
  redeliveries: number;
  dlq: number;
  maxReceiveCount: number;
  secondsToConverge: number;
  longestInvocationSeconds: number;
  throttledAnswers: number;
  calls: Record<string, number>;
  converged: boolean;
  goalMet: boolean;
}

interface Message {
  id: string;
  body: unknown;
  receives: number;
}

/**
 * The burst with Route 53 limited to 5 requests/s and PutParameter to 3/s. SQS is simulated:
 * up to `concurrency` batches in flight (the template's MaximumConcurrency), failed items
 * come back at once (the real visibility timeout is not waited for), and an item received
 * more than maxReceiveCount times goes to the DLQ.
 */
export async function throttledBurst(
  moto: Moto,
  bundle: string,
  { instances, batchSize, concurrency, maxReceiveCount, env = {} }: { instances: number; batchSize: number; concurrency: number; maxReceiveCount: number; env?: Record<string, string> },
): Promise<ThrottledResult> {
  const d = await deploy(moto);
  const ids = await runInstances(d.s, instances, 't-');
  const rateLimits: RateLimit[] = [
    { service: 'route53', perSecond: 5, burst: 5 },
    { service: 'ssm', action: 'PutParameter', perSecond: 3, burst: 3 },
  ];
  const proxy = await startProxy({ target: moto.endpoint, rateLimits });
  const queue: Message[] = ids.map((id, i) => ({ id: `m-${i}`, body: stateChangeEvent(id, 'running'), receives: 0 }));
  let dlq = 0;
  let redeliveries = 0;
  let invocations = 0;
  let longest = 0;
  const t0 = performance.now();
  try {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    // One container per concurrent batch, as in AWS: each its own instance of the bundle, so
    // its own SDK clients (and retry quota) and its own PutParameter pacer.
    const containers: Handler[] = [];
    for (let i = 0; i < concurrency; i++) containers.push(await loadHandler(bundle, { ...lambdaEnv(d, proxy), ...env }));
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const worker = async (handler: Handler) => {
      for (;;) {
        const batch = queue.splice(0, batchSize);
        if (batch.length === 0) return;
        for (const m of batch) m.receives++;
        const event = sqsEvent(batch.map((m) => m.body));
        const byRecord = new Map(event.Records.map((r, i) => [r.messageId, batch[i] as Message]));
        invocations++;
        const started = performance.now();
        // The template's function timeout (120 s), as the Lambda context reports it.
        const timeoutAt = Date.now() + 120_000;
        const context = { getRemainingTimeInMillis: () => timeoutAt - Date.now() };
        const out = await handler(event, context).catch(() => ({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) }));
        longest = Math.max(longest, performance.now() - started);
        for (const failed of failures(out)) {
          const m = byRecord.get(failed);
          if (!m) continue;
          if (m.receives >= maxReceiveCount) dlq++;
          else {
            redeliveries++;
            queue.push(m);
          }
        }
      }
    };
    // Workers pick up redelivered items too, until the queue stays empty.
    while (queue.length > 0) await Promise.all(containers.map(worker));
  } finally {
    await proxy.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const ok = await converged(d, instances);
  return {
    env,
    instances,
    batchSize,
    concurrency,
    rateLimits,
    invocations,
    redeliveries,
    dlq,
    maxReceiveCount,
    secondsToConverge: round(seconds),
    longestInvocationSeconds: round(longest / 1000),
    throttledAnswers: proxy.requests.filter((r) => r.outcome === 'throttled').length,
    calls: countCalls(proxy.requests),
    converged: ok,
    goalMet: ok && dlq === 0,
  };
}

// ------------------------------------------------------------------------------ a hub's burst

/** Calls one SQS batch made, per spoke (account and region) and per zone. */
export interface HubBatchCalls {
  /** `<account> <region>` → `service:action` → calls: EC2 and SSM, made in the spoke with its role. */
  perSpoke: Record<string, Record<string, number>>;
  /** The hub's own STS calls: one AssumeRole per spoke role, until the credentials near expiry. */
  assumeRole: number;
  /** Zone id → ChangeResourceRecordSets calls. */
  changesPerZone: Record<string, number>;
  total: number;
  failed: number;
}

export interface HubBurstResult {
  instancesPerSpoke: number;
  spokes: string[];
  /** The first batch (the hub assumes each spoke role once), then the same batch again (warm: credentials cached, nothing to write). */
  first: HubBatchCalls;
  again: HubBatchCalls;
  converged: boolean;
  goalMet: boolean;
}

/**
 * A hub's batch that spans two accounts: `instancesPerSpoke` instances start in account
 * 111111111111 (us-east-1) and as many in 222222222222 (eu-west-1); their events arrive in
 * one SQS batch at the hub (123456789012), which assumes each spoke's role, reads and writes
 * parameters there, and writes both zones itself. Calls are told apart by the region of
 * their SigV4 scope (one region per spoke here).
 */
export async function hubBurst(moto: Moto, bundle: string, { instancesPerSpoke }: { instancesPerSpoke: number }): Promise<HubBurstResult> {
  const d = await deploy(moto);
  const spokes = [
    { account: '111111111111', region: 'us-east-1' },
    { account: '222222222222', region: 'eu-west-1' },
  ];
  const seeders = await Promise.all(spokes.map((sp) => spokeSeeder(moto.endpoint, sp.account, sp.region)));
  const ids = await Promise.all(seeders.map((s, i) => runInstances(s, instancesPerSpoke, `h${i}-`)));
  const proxy = await startProxy({ target: moto.endpoint });
  process.env.EC2IP_PUT_PARAMETER_RATE = '1000';
  const calls = (log: readonly ProxyRequest[], failed: number): HubBatchCalls => {
    const perSpoke: Record<string, Record<string, number>> = {};
    for (const r of log) {
      if (r.service === 'route53' || r.service === 'sts') continue;
      const spoke = spokes.find((sp) => sp.region === r.region);
      const key = spoke ? `${spoke.account} ${spoke.region}` : `? ${r.region ?? '?'}`;
      const entry = (perSpoke[key] ??= {});
      entry[`${r.service}:${r.action}`] = (entry[`${r.service}:${r.action}`] ?? 0) + 1;
    }
    return { perSpoke, assumeRole: log.filter((r) => r.action === 'AssumeRole').length, changesPerZone: batchCalls(log, 0, 0).changesPerZone, total: log.length, failed };
  };
  let first: HubBatchCalls;
  let again: HubBatchCalls;
  let ok = false;
  try {
    const handler = await loadHandler(bundle, {
      ...lambdaEnv(d, proxy),
      SPOKE_ROLE_NAME: 'ec2ip-spoke',
      SPOKE_EXTERNAL_ID: 'bench-external-id',
      SPOKES: spokes.map((sp) => `${sp.account}:${sp.region}`).join(','),
    });
    // Interleaved, as a shared queue delivers them.
    const events = ids[0]?.flatMap((id, i) => [stateChangeEvent(id, 'running', { account: '111111111111', region: 'us-east-1' }), stateChangeEvent(ids[1]?.[i] as string, 'running', { account: '222222222222', region: 'eu-west-1' })]) ?? [];
    let from = proxy.requests.length;
    let out = await handler(sqsEvent(events));
    first = calls(proxy.requests.slice(from), failures(out).length);
    const [pub, priv] = await Promise.all([countRecords(d.s, d.publicZone), countRecords(d.s, d.privateZone)]);
    const params = await Promise.all(seeders.map((s) => countParameters(s, '/ec2ip')));
    ok = pub === 2 + 4 * instancesPerSpoke && priv === 2 + 4 * instancesPerSpoke && params.every((p) => p.size === 3 * instancesPerSpoke);
    from = proxy.requests.length;
    out = await handler(sqsEvent(events));
    again = calls(proxy.requests.slice(from), failures(out).length);
  } finally {
    await proxy.stop();
    delete process.env.EC2IP_PUT_PARAMETER_RATE;
    for (const k of ['SPOKE_ROLE_NAME', 'SPOKE_EXTERNAL_ID', 'SPOKES']) delete process.env[k];
  }
  const oneBatchPerZone = (c: HubBatchCalls) => Object.values(c.changesPerZone).every((n) => n <= 1);
  const goalMet =
    ok &&
    first.failed === 0 &&
    oneBatchPerZone(first) &&
    first.assumeRole === spokes.length &&
    again.assumeRole === 0 &&
    Object.values(first.perSpoke).every((c) => (c['ec2:DescribeInstances'] ?? 0) <= 1) &&
    Object.values(again.perSpoke).every((c) => !c['ssm:PutParameter']) &&
    Object.keys(again.changesPerZone).length === 0;
  return { instancesPerSpoke, spokes: spokes.map((sp) => `${sp.account} ${sp.region}`), first, again, converged: ok, goalMet };
}
