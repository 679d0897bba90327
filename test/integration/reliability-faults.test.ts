/**
 * Faults: the built handler talks to moto through test/support/aws-proxy.ts, which throttles,
 * answers 500, never answers (the client's 1 s request timeout fires) or resets the
 * connection, on EC2, Route 53 and SSM alike, at a set rate; and through
 * test/support/lost-answer-proxy.ts, which applies a request but drops its answer.
 * SQS redelivery is simulated: a failed item comes back until it succeeds (at most 10
 * receives), a failed scheduled reconcile runs again at the next tick.
 *
 * - Nothing is lost: after the events and a reconcile, SSM and Route 53 equal the truth.
 * - Nothing unowned is touched: foreign records and parameters stay byte-identical, checked
 *   after every step.
 * - A change batch that failed leaves nothing the next run cannot repair: the zone is as it
 *   was (or, if the answer was lost, as it should be) and the redelivered item fixes it.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startProxy, type AwsProxy, type FaultKind } from '../support/aws-proxy.js';
import { loadPinnedHandler } from '../support/bundle.js';
import { createWorld, describeAll, safetyViolations, snapshot, truthViolations, type Snapshot, type World } from '../support/convergence.js';
import { sqsRecord, stateChangeEvent, scheduledEvent } from '../support/events.js';
import { fromGen, runScenario, scenarioArb } from '../support/lifecycle.js';
import { startLostAnswerProxy, type LostAnswerProxy } from '../support/lost-answer-proxy.js';
import { motoEndpoint, runInstance, startInstances, stopInstances, terminateInstances, useMoto, type Handler } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

/** The share of requests that fail, per service. */
const FAULT_RATE = 0.2;
const KINDS: FaultKind[] = ['500', 'throttle', 'timeout', 'reset'];
const SERVICES = ['ec2', 'route53', 'ssm'];
const NUM_RUNS = Number(process.env.NUM_RUNS_FAULTS ?? 3);
/** Low retries and a short timeout keep the runs fast; the faults then reach the handler often. */
const FAST_FAILURE = { AWS_MAX_ATTEMPTS: '2', EC2IP_REQUEST_TIMEOUT_MS: '1000' };
const SAVED = Object.fromEntries(['AWS_ENDPOINT_URL', 'AWS_MAX_ATTEMPTS', 'EC2IP_REQUEST_TIMEOUT_MS'].map((k) => [k, process.env[k]]));

describe('faults between the handler and AWS', () => {
  useMoto();
  const audit = useIamAudit('function');
  let faults: AwsProxy;
  let lost: LostAnswerProxy;

  beforeAll(async () => {
    // The audit records at the fault proxy: the calls it fails (throttle, 500, timeout, reset) are evaluated too.
    faults = await startProxy({ ...audit.hooks, target: motoEndpoint() });
    lost = await startLostAnswerProxy(faults.url);
  });
  afterAll(async () => {
    await lost?.stop();
    await faults?.stop();
    for (const [k, v] of Object.entries(SAVED)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  beforeEach(() => {
    faults.setOptions({ faults: null });
    lost.dropAnswers([], 0);
  });

  it(
    `lose nothing and touch nothing unowned at a ${FAULT_RATE * 100} % fault rate per service (${NUM_RUNS} random lifecycles, SQS redelivery)`,
    async () => {
      const totals: Record<string, number> = { requests: 0 };
      await fc.assert(
        fc.asyncProperty(scenarioArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.gen(), async (scenario, seed, g) => {
          // Only the handler's calls go through the proxies; the test's own calls go straight to moto.
          faults.requests.length = 0;
          faults.setOptions({ faults: { rate: FAULT_RATE, kinds: KINDS, services: SERVICES, seed } });
          await runScenario(scenario, fromGen(g), {
            env: { AWS_ENDPOINT_URL: lost.url, ...FAST_FAILURE },
            // The deployed path: every event through SQS, none dropped, some duplicated.
            copies: [1, 1, 2],
            bus: { transport: 'sqs', maxReceives: 10 },
            noDeadLetters: true,
            // The schedule fires again after a failed reconcile.
            reconcileTicks: 10,
            quiesce: () => faults.setOptions({ faults: null }),
          });
          totals.requests = (totals.requests ?? 0) + faults.requests.length;
          // A timeout fault is logged when its connection closes; until then it has no outcome.
          for (const r of faults.requests) totals[r.outcome ?? 'fault:timeout'] = (totals[r.outcome ?? 'fault:timeout'] ?? 0) + 1;
        }),
        { numRuns: NUM_RUNS, endOnFailure: true },
      );
      if (process.env.NUM_RUNS_FAULTS) console.log(`faults: ${JSON.stringify(totals)}`);
      // The faults did happen (each kind is also forced once in the failed-batch cases below).
      const injected = KINDS.reduce((n, kind) => n + (totals[`fault:${kind}`] ?? 0), 0);
      expect(injected).toBeGreaterThan(0);
    },
    NUM_RUNS * 180_000,
  );

  describe('a change batch that failed', () => {
    let world: World;
    let foreign: Snapshot;

    beforeEach(async () => {
      world = await createWorld({ AWS_ENDPOINT_URL: lost.url, ...FAST_FAILURE });
      foreign = await snapshot(world);
    });

    async function sqs(handler: Handler, event: unknown) {
      const record = sqsRecord(event);
      const { result } = await captureStdout(() => handler({ Records: [record] }));
      return (result as SQSBatchResponse).batchItemFailures.length === 0;
    }

    /** Brings the world to the step before the batch: returns the instance whose event carries it. */
    const setups: Record<string, (h: Handler) => Promise<{ id: string; state: string; others: string[] }>> = {
      async claim() {
        const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
        return { id, state: 'running', others: [] };
      },
      async update(h) {
        const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
        expect(await sqs(h, stateChangeEvent(id, 'running'))).toBe(true);
        await stopInstances([id]);
        await startInstances([id]);
        return { id, state: 'running', others: [] };
      },
      async takeover(h) {
        const owner = await runInstance({ tags: { 'ec2ip:name': 'web' } });
        expect(await sqs(h, stateChangeEvent(owner, 'running'))).toBe(true);
        const rival = await runInstance({ tags: { 'ec2ip:name': 'web' } });
        await terminateInstances([owner]);
        return { id: rival, state: 'running', others: [owner] };
      },
      async release(h) {
        const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
        expect(await sqs(h, stateChangeEvent(id, 'running'))).toBe(true);
        await terminateInstances([id]);
        return { id, state: 'terminated', others: [] };
      },
    };

    it.each([
      ['claim', 'timeout'],
      ['update', '500'],
      ['takeover', 'reset'],
      ['release', 'throttle'],
    ] as const)('leaves the zones as they were when the %s batch fails (%s), and the redelivered item repairs everything', async (step, kind) => {
      const handler = await loadPinnedHandler(world.env);
      const { id, state, others } = await setups[step]!(handler);
      const before = await snapshot(world);
      faults.setOptions({ faults: { rate: 1, kinds: [kind], services: ['route53'], actions: ['ChangeResourceRecordSets'], seed: 1 } });
      expect(await sqs(handler, stateChangeEvent(id, state)), 'a failed change batch must come back as an item failure').toBe(false);
      const after = await snapshot(world);
      // All or nothing: both zones exactly as before; SSM is written on its own and may have moved on.
      expect(after.public).toEqual(before.public);
      expect(after.private).toEqual(before.private);
      expect(safetyViolations(foreign, after)).toEqual([]);

      faults.setOptions({ faults: null });
      expect(await sqs(handler, stateChangeEvent(id, state)), 'the redelivered item succeeds').toBe(true);
      const repaired = await snapshot(world);
      expect(truthViolations(foreign, repaired, await describeAll([id, ...others]), { sameHolderEverywhere: true })).toEqual([]);
      // Nothing left over for a reconcile to do.
      const { lines } = await captureStdout(() => handler(scheduledEvent()));
      expect(lines.filter((l) => ['records published', 'records released', 'parameters written'].includes(String(l.message)))).toEqual([]);
    });

    it.each(['claim', 'update', 'takeover', 'release'])('converges when the %s batch is applied but its answers are lost', async (step) => {
      const handler = await loadPinnedHandler(world.env);
      const { id, state, others } = await setups[step]!(handler);
      // Every attempt of the SDK's retry is applied and its answer lost, on Route 53 and SSM.
      lost.dropAnswers(['ChangeResourceRecordSets', 'PutParameter', 'DeleteParameters'], 8);
      const first = await sqs(handler, stateChangeEvent(id, state));
      expect(lost.dropped.length).toBeGreaterThan(0);
      expect(safetyViolations(foreign, await snapshot(world))).toEqual([]);
      lost.dropAnswers([], 0);
      let done = first;
      for (let receive = 2; receive <= 10 && !done; receive++) done = await sqs(handler, stateChangeEvent(id, state));
      expect(done).toBe(true);
      expect(truthViolations(foreign, await snapshot(world), await describeAll([id, ...others]), { sameHolderEverywhere: true })).toEqual([]);
    });
  });
});
