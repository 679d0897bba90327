/**
 * Ordering: random lifecycles of 2–4 instances (some sharing a name) on moto, their events
 * shuffled, duplicated and some dropped, delivered to the built handler directly and in
 * SQS batches while the lifecycle goes on; then a scheduled reconcile. SSM and Route 53
 * must be safe at every step and equal to the truth at the end (test/support/lifecycle.ts).
 *
 * `npm test` runs a few cases; `npm run soak` runs NUM_RUNS=200. Replay a failure with
 * FC_SEED=<seed> FC_PATH=<path> from fast-check's report; SHRINK=1 shrinks it (slow on moto).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimedName } from '../support/convergence.js';
import { fromGen, runScenario, scenarioArb } from '../support/lifecycle.js';
import { useMoto } from '../support/moto.js';
import { useIamAudit } from '../support/iam-audit.js';

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 5);

describe('out-of-order, duplicate and lost events', () => {
  useMoto();
  useIamAudit('function');

  it(
    `converge to the truth after a reconcile and stay safe on the way (${NUM_RUNS} random lifecycles)`,
    async () => {
      const stats = { runs: 0, instances: 0, shared: 0, invocations: 0 };
      await fc.assert(
        fc.asyncProperty(scenarioArb, fc.gen(), async (scenario, g) => {
          const names = scenario.instances.map((t) => claimedName(t)).filter(Boolean);
          if (new Set(names).size < names.length) stats.shared++;
          const { bus } = await runScenario(scenario, fromGen(g));
          stats.runs++;
          stats.instances += scenario.instances.length;
          stats.invocations += bus.invocations.length;
        }),
        {
          numRuns: NUM_RUNS,
          endOnFailure: !process.env.SHRINK,
          ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}),
        },
      );
      if (process.env.NUM_RUNS) console.log(`ordering: ${JSON.stringify(stats)}`);
      expect(stats.runs).toBeGreaterThan(0);
    },
    NUM_RUNS * 60_000,
  );
});
