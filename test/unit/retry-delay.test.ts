/**
 * The handler gives each failed SQS item its retry delay (ChangeMessageVisibilityBatch),
 * with the SDK mocked; on moto: test/integration/retry-delay.test.ts.
 */
import { DescribeInstancesCommand, EC2Client, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/core/log.js';
import type { Config } from '../../functions/core/types.js';
import { createHandler } from '../../functions/sync/handler.js';
import { sqsRecord, stateChangeEvent } from '../support/events.js';
import { capturedMetrics, mockedClients, TEST_CREDENTIALS } from '../support/unit-deps.js';

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);
const sqs = mockClient(SQSClient);

const ID = 'i-1234567890abcdef0';
const NOW = Date.parse('2021-11-11T21:31:00Z');
const RECENT = '2021-11-11T21:30:30Z';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:ec2ip-EventQueue-X1';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ec2ip-EventQueue-X1';
const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };

let logs: Record<string, unknown>[];
let emf: Record<string, unknown>[];

function handler() {
  const metrics = capturedMetrics(emf);
  return createHandler(
    {
      clients: mockedClients(),
      config,
      log: createLogger({}, { write: (line) => logs.push(JSON.parse(line)) }),
      metrics,
      zoneNames: new Map([['ZPUB', 'example.com']]),
    },
    { now: () => NOW, recheckDelaysMs: [], sqs: new SQSClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS }) },
  );
}

function instance(state: string, over: Partial<Ec2Instance> = {}): Ec2Instance {
  return {
    InstanceId: ID,
    State: { Name: state as never },
    LaunchTime: new Date('2021-11-11T21:29:00Z'),
    PublicIpAddress: state === 'running' ? '3.3.3.3' : undefined,
    PrivateIpAddress: '10.0.0.3',
    Tags: [{ Key: 'ec2ip:name', Value: 'web' }],
    ...over,
  };
}

function world(instances: Ec2Instance[]) {
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: instances.length ? [{ Instances: instances }] : [] });
  route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: 'example.com.', Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'ns. admin. 1 7200 900 1209600 86400' }] }], IsTruncated: false });
  route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: 'c', Status: 'PENDING', SubmittedAt: new Date() } });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  sqs.on(ChangeMessageVisibilityBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] }));
}

/** One SQS event whose records come from the given queue, each with its receive count. */
function batch(items: { body: unknown; receiveCount?: number; queue?: string }[]): SQSEvent {
  return { Records: items.map(({ body, receiveCount = 1, queue = 'ec2ip-EventQueue-X1' }) => sqsRecord(body, { receiveCount, queue })) };
}

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } });

function visibilityEntries() {
  return sqs.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => ({ queue: c.args[0].input.QueueUrl, handle: e.ReceiptHandle, seconds: e.VisibilityTimeout })));
}

beforeEach(() => {
  for (const m of [ec2, route53, ssm, sqs]) m.reset();
  logs = [];
  emf = [];
});

describe('handler: the retry delay of a failed SQS item', () => {
  it.each<[string, () => void, unknown, number, number]>([
    ['a throttled Route 53 write, first receive', () => (world([instance('running')]), route53.on(ChangeResourceRecordSetsCommand).rejects(throttled())), stateChangeEvent(ID, 'running', { time: RECENT }), 1, 5],
    ['a throttled Route 53 write, third receive', () => (world([instance('running')]), route53.on(ChangeResourceRecordSetsCommand).rejects(throttled())), stateChangeEvent(ID, 'running', { time: RECENT }), 3, 45],
    ['a read that failed (DescribeInstances throttled)', () => (world([]), ec2.on(DescribeInstancesCommand).rejects(Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' }))), stateChangeEvent(ID, 'running', { time: RECENT }), 2, 15],
    ['DescribeInstances still showing pending', () => world([instance('pending')]), stateChangeEvent(ID, 'running', { time: RECENT }), 1, 10],
    ['a running instance without a public IPv4 yet', () => world([instance('running', { PublicIpAddress: undefined })]), stateChangeEvent(ID, 'running', { time: RECENT }), 1, 20],
    ['a running instance without a public IPv4 yet, fourth receive', () => world([instance('running', { PublicIpAddress: undefined })]), stateChangeEvent(ID, 'running', { time: RECENT }), 4, 120],
    ['a malformed event (not JSON)', () => world([]), '{not json', 3, 0],
  ])('sets %s to come back after the delay of its reason', async (_, setup, body, receiveCount, seconds) => {
    setup();
    const event = batch([{ body, receiveCount }]);
    const record = event.Records[0];
    const result = await handler()(event);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: record?.messageId }] });
    expect(visibilityEntries()).toEqual([{ queue: QUEUE_URL, handle: record?.receiptHandle, seconds }]);
    expect(logs.find((l) => l.message === 'item will be retried')).toMatchObject({ messageId: record?.messageId, retryInSeconds: seconds, receiveCount });
  });

  it('makes no call when every item is done', async () => {
    world([instance('running')]);
    const result = await handler()(batch([{ body: stateChangeEvent(ID, 'running', { time: RECENT }) }]));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('sets only the failed items, in calls of at most 10 entries per queue', async () => {
    world([instance('running')]);
    const bad = Array.from({ length: 23 }, (_, i) => ({ body: `not json ${i}`, receiveCount: 1 }));
    const other = Array.from({ length: 2 }, (_, i) => ({ body: `also not json ${i}`, receiveCount: 2, queue: 'other-queue' }));
    const event = batch([{ body: stateChangeEvent(ID, 'running', { time: RECENT }) }, ...bad, ...other]);
    const result = (await handler()(event)) as { batchItemFailures: { itemIdentifier: string }[] };
    expect(result.batchItemFailures).toHaveLength(25);
    const calls = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => `${c.args[0].input.QueueUrl} ${c.args[0].input.Entries?.length}`);
    expect(calls.sort()).toEqual([`${QUEUE_URL} 10`, `${QUEUE_URL} 10`, `${QUEUE_URL} 3`, 'https://sqs.us-east-1.amazonaws.com/123456789012/other-queue 2']);
    const handles = visibilityEntries().map((e) => e.handle).sort();
    expect(handles).toEqual(event.Records.slice(1).map((r) => r.receiptHandle).sort());
    expect(new Set(sqs.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) => c.args[0].input.Entries?.map((e) => e.Id)))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => String(i))));
  });

  it('answers the same batchItemFailures when ChangeMessageVisibilityBatch fails, and logs it', async () => {
    world([instance('running')]);
    route53.on(ChangeResourceRecordSetsCommand).rejects(throttled());
    sqs.on(ChangeMessageVisibilityBatchCommand).rejects(Object.assign(new Error('User is not authorized to perform: sqs:changemessagevisibility'), { name: 'AccessDenied' }));
    const event = batch([{ body: stateChangeEvent(ID, 'running', { time: RECENT }) }, { body: 'not json' }]);
    const result = (await handler()(event)) as { batchItemFailures: { itemIdentifier: string }[] };
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(event.Records.map((r) => r.messageId).sort());
    expect(sqs).toHaveReceivedCommandTimes(ChangeMessageVisibilityBatchCommand, 1);
    const warning = logs.filter((l) => l.message === "retry delay not set; the items come back after the queue's visibility timeout");
    expect(warning).toEqual([expect.objectContaining({ level: 'WARN', messageIds: expect.arrayContaining(event.Records.map((r) => r.messageId)), queueArn: QUEUE_ARN, reason: expect.stringContaining('AccessDenied') })]);
    expect(emf[0]).toMatchObject({ Retried: 2, RetryDelayNotSet: 2 });
  });

  it('answers the same batchItemFailures when some entries are refused, and names those', async () => {
    world([]);
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', Message: 'The input receipt handle is invalid.', SenderFault: true }] });
    const event = batch([{ body: 'not json a' }, { body: 'not json b' }]);
    const result = await handler()(event);
    expect(result).toEqual({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) });
    expect(logs.filter((l) => l.message === "retry delay not set; the items come back after the queue's visibility timeout")).toEqual([
      expect.objectContaining({ messageIds: [event.Records[1]?.messageId], reason: 'ReceiptHandleIsInvalid: The input receipt handle is invalid.' }),
    ]);
  });

  it('still answers when the call hangs: it is cut off within the invocation', async () => {
    world([]);
    sqs.on(ChangeMessageVisibilityBatchCommand).callsFake(() => new Promise(() => undefined));
    const event = batch([{ body: 'not json' }]);
    const started = Date.now();
    // 12 s left: the deadline keeps 10 s for answering, of which the call may use up to 5 s.
    const result = await handler()(event, { getRemainingTimeInMillis: () => 12_000 - (Date.now() - started) });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] });
    expect(logs.find((l) => l.message === "retry delay not set; the items come back after the queue's visibility timeout")).toMatchObject({ reason: expect.stringMatching(/abort/i) });
  });
});
