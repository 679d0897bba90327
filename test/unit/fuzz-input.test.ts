/**
 * Bad input, fuzzed: malformed events alone (parseEvent / parseSqsRecord are pure) and mixed
 * into SQS batches with good items (the handler with the SDK mocked). The handler never
 * fails a whole batch for one bad item, reports exactly the bad items, writes nothing for
 * them, logs one ERROR line each, and still publishes the good items.
 */
import { DescribeInstancesCommand, EC2Client, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ChangeResourceRecordSetsCommandInput } from '@aws-sdk/client-route-53';
import { DeleteParametersCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient, type PutParameterCommandInput } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { MalformedEventError } from '../../functions/core/errors.js';
import { createLogger } from '../../functions/core/log.js';
import type { Config } from '../../functions/core/types.js';
import { createHandler } from '../../functions/sync/handler.js';
import { parseEvent, parseSqsRecord } from '../../functions/sync/input.js';
import { sqsRecord } from '../support/events.js';
import { brief, goodItem, ignoredItem, isJson, malformedItem, MALFORMED_ID, type Item } from '../support/malformed.js';
import { capturedMetrics, mockedClients } from '../support/unit-deps.js';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', privateHostedZoneId: 'ZPRIV', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const GOOD = ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa3'];
/** Every instance exists, running and tagged: a handler that accepted a bad item would write for it. */
const NAMES = new Map([...GOOD.map((id, i) => [id, `good${i + 1}`] as const), [MALFORMED_ID, 'bad']]);
/**
 * Longest reason a malformed-event log line may carry: input of any size (up to 300,000
 * characters here) is cut to a few dozen characters, which JSON escaping may multiply.
 */
const MAX_REASON = 1000;

describe('parseEvent and parseSqsRecord on arbitrary input', () => {
  it('return a well-formed request or throw MalformedEventError with a short reason, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.object(), malformedItem().map((i) => i.body)), (value) => {
        try {
          const request = parseEvent(value);
          expect(['state', 'tag', 'reconcile', 'ignored']).toContain(request.kind);
          if (request.kind === 'state' || request.kind === 'tag') expect(request.instanceId).toMatch(/^i-[0-9a-z]{1,40}$/);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedEventError);
          expect((error as Error).message.length).toBeLessThan(MAX_REASON);
        }
      }),
      { numRuns: NUM_RUNS * 3 },
    );
  });

  it('refuse every malformed event, naming what is wrong', () => {
    fc.assert(
      fc.property(malformedItem(), (item) => {
        const record = sqsRecord(item.body);
        let error: unknown;
        try {
          parseSqsRecord(record);
        } catch (e) {
          error = e;
        }
        expect(error, `${item.why} was accepted: ${record.body.slice(0, 200)}`).toBeInstanceOf(MalformedEventError);
        expect((error as Error).message.length).toBeLessThan(MAX_REASON);
        if (item.why === 'the instance_id variant') expect((error as Error).message).toMatch(/instance_id/);
      }),
      { numRuns: NUM_RUNS * 3 },
    );
  });

  it('accept the events they are meant to read', () => {
    fc.assert(
      fc.property(goodItem(GOOD, ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']), (item) => {
        expect(parseSqsRecord(sqsRecord(item.body))).toMatchObject({ instanceId: item.id });
      }),
    );
  });
});

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);

interface Run {
  logs: Record<string, unknown>[];
  changes: ChangeResourceRecordSetsCommandInput[];
  puts: PutParameterCommandInput[];
  described: string[];
}

function instance(id: string): Ec2Instance {
  const n = GOOD.indexOf(id) + 2;
  return {
    InstanceId: id,
    State: { Name: 'running' },
    LaunchTime: new Date('2024-01-01T00:00:00Z'),
    PublicIpAddress: `3.3.3.${n}`,
    PrivateIpAddress: `10.0.0.${n}`,
    Tags: [{ Key: 'ec2ip:name', Value: NAMES.get(id) ?? 'unknown' }],
  };
}

/** A fresh handler over an empty world of running, tagged instances; records every write. */
function setup(): { handler: (event: unknown) => Promise<unknown>; run: Run } {
  const run: Run = { logs: [], changes: [], puts: [], described: [] };
  ec2.reset();
  route53.reset();
  ssm.reset();
  ec2.on(DescribeInstancesCommand).callsFake((input) => {
    const ids: string[] = input.Filters?.find((f: { Name?: string }) => f.Name === 'instance-id')?.Values ?? [...NAMES.keys()];
    run.described.push(...ids);
    const instances = ids.filter((id) => NAMES.has(id)).map(instance);
    return { Reservations: instances.length > 0 ? [{ Instances: instances }] : [] };
  });
  route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false });
  route53.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
    run.changes.push(input);
    return { ChangeInfo: { Id: 'c', Status: 'PENDING', SubmittedAt: new Date() } };
  });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  ssm.on(GetParametersCommand).resolves({ Parameters: [] });
  ssm.on(PutParameterCommand).callsFake((input) => {
    run.puts.push(input);
    return { Version: 1 };
  });
  ssm.on(DeleteParametersCommand).resolves({ DeletedParameters: [] });
  const metrics = capturedMetrics();
  const handler = createHandler({
    clients: mockedClients(),
    config,
    log: createLogger({}, { write: (line) => run.logs.push(JSON.parse(line)) }),
    metrics,
    zoneNames: new Map([['ZPUB', 'example.com'], ['ZPRIV', 'internal.example']]),
  });
  return { handler, run };
}

/** Names written by the run: record names in both zones and parameter folders. */
function written(run: Run): Set<string> {
  const names = new Set<string>();
  for (const c of run.changes) {
    for (const ch of c.ChangeBatch?.Changes ?? []) names.add((ch.ResourceRecordSet?.Name ?? '').replace(/^_ec2ip\./, '').split('.')[0] ?? '');
  }
  for (const p of run.puts) names.add((p.Name ?? '').split('/')[2] ?? '');
  return names;
}

type Tagged = Item & { kind: 'bad' | 'good' | 'ignored'; id?: string };

const batchArb = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: malformedItem().map((i): Tagged => brief({ ...i, kind: 'bad' })) },
      { weight: 3, arbitrary: goodItem(GOOD).map((i): Tagged => brief({ ...i, kind: 'good' })) },
      { weight: 1, arbitrary: ignoredItem.map((i): Tagged => brief({ ...i, kind: 'ignored' })) },
    ),
    { minLength: 1, maxLength: 10 },
  )
  .filter((items) => items.some((i) => i.kind === 'bad'));

describe('an SQS batch with malformed items', () => {
  beforeEach(() => {
    ec2.reset();
    route53.reset();
    ssm.reset();
  });

  it(`reports exactly the bad items, logs one ERROR line each, writes nothing for them and publishes the good ones (${NUM_RUNS} batches)`, async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async (items) => {
        const { handler, run } = setup();
        const records = items.map((i) => sqsRecord(i.body));
        const bad = new Set(records.filter((_, n) => items[n]?.kind === 'bad').map((r) => r.messageId));
        const result = (await handler({ Records: records })) as SQSBatchResponse;
        const why = items.map((i) => `${i.kind}: ${i.why}`).join('; ');

        expect(new Set(result.batchItemFailures.map((f) => f.itemIdentifier)), why).toEqual(bad);
        const errors = run.logs.filter((l) => l.level === 'ERROR');
        expect(errors.every((l) => l.message === 'malformed event'), why).toBe(true);
        expect(errors.map((l) => l.messageId).sort()).toEqual([...bad].sort());
        for (const line of errors) {
          expect(typeof line.reason).toBe('string');
          expect((line.reason as string).length).toBeLessThan(MAX_REASON);
          expect(JSON.stringify(line).length).toBeLessThan(MAX_REASON + 400);
        }

        expect(run.described, why).not.toContain(MALFORMED_ID);
        const goodIds = new Set(items.filter((i) => i.kind === 'good').map((i) => i.id as string));
        const names = written(run);
        expect(names.has('bad'), why).toBe(false);
        expect(names).toEqual(new Set([...goodIds].map((id) => NAMES.get(id))));
        for (const id of goodIds) {
          expect(run.puts.find((p) => p.Name === `/ec2ip/${NAMES.get(id)}/instance-id`)?.Value, why).toBe(id);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('throws for a malformed direct invocation (so Lambda retries it into the on-failure destination) and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(malformedItem(), async (item) => {
        const { handler, run } = setup();
        // A direct invocation carries the event itself; a non-JSON SQS body has no direct form.
        const event = typeof item.body === 'string' ? (isJson(item.body) ? JSON.parse(item.body) : item.body) : item.body;
        await expect(handler(event)).rejects.toThrow(/malformed event/);
        expect(run.logs.filter((l) => l.level === 'ERROR').map((l) => [l.message, l.messageId])).toEqual([['malformed event', 'event']]);
        expect(run.changes).toEqual([]);
        expect(run.puts).toEqual([]);
      }),
      { numRuns: Math.ceil(NUM_RUNS / 3) },
    );
  });
});

