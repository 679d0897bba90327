/**
 * Bad input through the built handler on moto: fuzzed malformed items about a real, tagged
 * instance, mixed into SQS batches with good items. Exactly the bad items come back, each
 * with one ERROR line, nothing is written for them, and the good items are published.
 * (test/unit/fuzz-input.test.ts runs the same fuzz hundreds of times with the SDK mocked.)
 */
import type { SQSBatchResponse } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPinnedHandler } from '../support/bundle.js';
import { createWorld, describeAll, safetyViolations, snapshot, truthViolations } from '../support/convergence.js';
import { sqsRecord } from '../support/events.js';
import { brief, goodItem, malformedItem, type Item } from '../support/malformed.js';
import { resetMoto, runInstance, useMoto } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

const NUM_RUNS = Number(process.env.NUM_RUNS_INPUT ?? 4);

describe('malformed items in an SQS batch on moto', () => {
  useMoto();
  useIamAudit('function');

  it(`are reported alone, logged once each and write nothing, while the good items are published (${NUM_RUNS} fuzzed batches)`, async () => {
    // The ids are only known once moto runs the instances: the batch is built from indexes.
    const batchArb = fc
      .array(fc.oneof(fc.constant<'good'>('good'), fc.constant<'bad'>('bad')), { minLength: 2, maxLength: 10 })
      .filter((kinds) => kinds.includes('good') && kinds.includes('bad'));
    await fc.assert(
      fc.asyncProperty(batchArb, fc.gen(), async (kinds, g) => {
        await resetMoto();
        const world = await createWorld();
        const foreign = await snapshot(world);
        const good = [await runInstance({ tags: { 'ec2ip:name': 'web' } }), await runInstance({ tags: { 'ec2ip:name': 'api' } })];
        const badId = await runInstance({ tags: { 'ec2ip:name': 'bad' } });
        const items: (Item & { kind: 'good' | 'bad' })[] = kinds.map((kind) =>
          brief({ ...(kind === 'good' ? g(() => goodItem(good)) : g(() => malformedItem(badId))), kind }),
        );
        const handler = await loadPinnedHandler(world.env);
        const records = items.map((i) => sqsRecord(i.body));
        const bad = records.filter((_, n) => items[n]?.kind === 'bad').map((r) => r.messageId);
        const { result, lines } = await captureStdout(() => handler({ Records: records }));
        const why = items.map((i) => i.why).join('; ');

        expect((result as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier).sort(), why).toEqual([...bad].sort());
        const errors = lines.filter((l) => l.level === 'ERROR');
        expect(errors.map((l) => [l.message, l.messageId]).sort(), why).toEqual(bad.map((id) => ['malformed event', id]).sort());
        for (const line of errors) expect(JSON.stringify(line).length).toBeLessThan(2000);

        const now = await snapshot(world);
        expect(safetyViolations(foreign, now)).toEqual([]);
        const texts = JSON.stringify(now);
        expect(texts).not.toContain(badId);
        expect(texts).not.toContain('bad.example.com');
        // Each good instance that had an item is published exactly as the truth says.
        const sent = new Set(items.filter((i) => i.kind === 'good').map((i) => (i as unknown as { id: string }).id));
        const instances = await describeAll([...sent]);
        expect(truthViolations(foreign, now, instances)).toEqual([]);
      }),
      { numRuns: NUM_RUNS, endOnFailure: true },
    );
  });
});
