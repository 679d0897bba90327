/**
 * The doctor checks that moto cannot feed, with aws-sdk-client-mock: CloudWatch metrics with
 * data (errors, throttles, ec2ip's own counts, the queue's age), an overdue reconcile, a dead
 * letter's reason from the function's log, refused permissions (the check says which action
 * and the others go on), and a move task that fails or is still running.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkEvents } from '../../scripts/doctor/events.js';
import { checkFunction } from '../../scripts/doctor/function.js';
import { redrive } from '../../scripts/doctor/redrive.js';
import type { Check } from '../../scripts/doctor/report.js';
import type { StackInfo } from '../../scripts/doctor/stack.js';

const cw = mockClient(CloudWatchClient);
const logs = mockClient(CloudWatchLogsClient);
const events = mockClient(EventBridgeClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);

const NOW = new Date('2026-03-01T12:00:00Z');
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/ec2ip-EventQueue-A';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/ec2ip-DeadLetterQueue-B';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:ec2ip-EventQueue-A';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:ec2ip-DeadLetterQueue-B';
const stack: StackInfo = {
  name: 'ec2ip',
  status: 'CREATE_COMPLETE',
  hub: false,
  outputs: {},
  parameters: { ReconcileSchedule: 'rate(15 minutes)' },
  resources: { EventQueue: QUEUE, DeadLetterQueue: DLQ, StateChangeRule: 'ec2ip-State-1', TagChangeRule: 'ec2ip-Tag-1', SyncFunction: 'ec2ip', ReconcileRule: 'ec2ip-Reconcile-1' },
};
const rule = (name: string) => `arn:aws:events:us-east-1:123456789012:rule/${name}`;
const POLICY = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: QUEUE_ARN, Condition: { ArnEquals: { 'aws:SourceArn': [rule('ec2ip-State-1'), rule('ec2ip-Tag-1')] } } }] });
/** What AWS answers a call IAM refuses (JSON protocols: AccessDeniedException, HTTP 400). */
const denied = (action: string) => Object.assign(new Error(`User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ${action}`), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });

function collect(): { lines: Check[]; sink: (c: Check) => void } {
  const lines: Check[] = [];
  return { lines, sink: (c) => void lines.push(c) };
}

beforeEach(() => {
  for (const m of [cw, logs, events, lambda, sqs]) m.reset();
  sqs.on(GetQueueAttributesCommand, { QueueUrl: QUEUE }).resolves({ Attributes: { QueueArn: QUEUE_ARN, ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0', Policy: POLICY } });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ }).resolves({ Attributes: { QueueArn: DLQ_ARN, ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });
  events.on(DescribeRuleCommand).resolves({ State: 'ENABLED' });
  events.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'ec2ip-queue', Arn: QUEUE_ARN }] });
  lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [{ UUID: 'u-1', EventSourceArn: QUEUE_ARN, State: 'Enabled', FunctionResponseTypes: ['ReportBatchItemFailures'] }] });
  cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
});

const clients = () => ({ events: new EventBridgeClient({}), sqs: new SQSClient({}), lambda: new LambdaClient({}), cloudwatch: new CloudWatchClient({}), logs: new CloudWatchLogsClient({}) });

describe('the events-in checks', () => {
  it('warns when the oldest queued message is older than five minutes (CloudWatch ApproximateAgeOfOldestMessage)', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'age', Values: [420, 380], StatusCode: 'Complete' }] });
    const { lines, sink } = collect();
    await checkEvents(clients(), stack, sink, NOW);
    expect(lines.find((c) => c.id === 'queue-backlog')).toMatchObject({ status: 'warn', message: expect.stringContaining('3 waiting, 0 in flight, oldest 420 s') });
    expect(cw).toHaveReceivedCommandWith(GetMetricDataCommand, {
      MetricDataQueries: [expect.objectContaining({ MetricStat: expect.objectContaining({ Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: 'ec2ip-EventQueue-A' }] }, Stat: 'Maximum' }) })],
    });
    expect(lines.filter((c) => c.status !== 'ok').map((c) => c.id)).toEqual(['queue-backlog']);
  });

  it('says which action a refused check lacks and goes on with the others', async () => {
    events.on(DescribeRuleCommand).rejects(denied('events:DescribeRule'));
    const { lines, sink } = collect();
    await checkEvents(clients(), stack, sink, NOW);
    const warned = lines.filter((c) => c.status !== 'ok');
    expect(warned).toEqual([
      expect.objectContaining({ id: 'rule-enabled', resource: 'ec2ip-State-1', status: 'warn', missingPermission: 'events:DescribeRule' }),
      expect.objectContaining({ id: 'rule-enabled', resource: 'ec2ip-Tag-1', status: 'warn', missingPermission: 'events:DescribeRule' }),
    ]);
    expect(lines.map((c) => c.id)).toEqual(['queue-backlog', 'queue-policy', 'rule-enabled', 'rule-target', 'rule-enabled', 'rule-target', 'event-source-mapping', 'dead-letters']);
  });

  it('names the first dead letter\'s instance and the reason the function logged for it, peeking without hiding or deleting it', async () => {
    sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ }).resolves({ Attributes: { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '0' } });
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [{ MessageId: 'm-1', ReceiptHandle: 'r', Body: JSON.stringify({ source: 'aws.ec2', detail: { 'instance-id': 'i-0abc', state: 'running' } }) }] });
    logs.on(FilterLogEventsCommand).resolves({
      events: [{ timestamp: 1, message: JSON.stringify({ level: 'WARN', message: 'item will be retried', messageId: 'm-1', reason: 'i-0abc: InvalidInstanceID.NotFound' }) }],
    });
    const { lines, sink } = collect();
    await checkEvents(clients(), stack, sink, NOW);
    expect(lines.find((c) => c.id === 'dead-letters')).toMatchObject({
      status: 'fail',
      message: '2 events failed 10 times and wait in the dead-letter queue; the first is about i-0abc: i-0abc: InvalidInstanceID.NotFound',
      fix: expect.stringContaining('ec2ip doctor --redrive'),
    });
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, { QueueUrl: DLQ, VisibilityTimeout: 0, MaxNumberOfMessages: 1 });
    expect(logs).toHaveReceivedCommandWith(FilterLogEventsCommand, { logGroupName: '/aws/lambda/ec2ip', filterPattern: '"m-1"' });
  });
});

describe('the function checks', () => {
  it('warns on errors, throttles and ec2ip\'s own problem counts over 24 h', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'errors', Values: [2, 1] },
        { Id: 'throttles', Values: [0] },
        { Id: 'refused', Values: [4] },
        { Id: 'spokesunreachable', Values: [1] },
      ],
    });
    logs.on(FilterLogEventsCommand).resolves({ events: [{ timestamp: NOW.getTime() - 10 * 60_000, message: JSON.stringify({ message: 'reconcile done', instances: 7, refused: 4, failed: 0 }) }] });
    const { lines, sink } = collect();
    await checkFunction(new CloudWatchClient({}), new CloudWatchLogsClient({}), stack, 'ec2ip', sink, NOW);
    expect(lines).toEqual([
      expect.objectContaining({ id: 'function-errors', status: 'warn', message: '3 errors, 0 throttles in the last 24 h', fix: expect.stringContaining('aws logs tail /aws/lambda/ec2ip') }),
      expect.objectContaining({ id: 'function-outcomes', status: 'warn', message: 'in the last 24 h: Refused 4, SpokesUnreachable 1' }),
      expect.objectContaining({ id: 'last-reconcile', status: 'ok', message: 'last scheduled reconcile 10 min ago: 7 instances, 4 refused, 0 failed' }),
    ]);
    const queries = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries ?? [];
    expect(queries.map((q) => `${q.MetricStat?.Metric?.Namespace}/${q.MetricStat?.Metric?.MetricName}`)).toEqual(['AWS/Lambda/Errors', 'AWS/Lambda/Throttles', 'ec2ip/Refused', 'ec2ip/Conflicts', 'ec2ip/Malformed', 'ec2ip/ElasticIpProblems', 'ec2ip/SpokesUnreachable']);
  });

  it('warns when the last scheduled reconcile is overdue, and when a permission is missing says which', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [{ timestamp: NOW.getTime() - 3 * 3600_000, message: '{"message":"reconcile done","instances":1,"refused":0,"failed":0}' }] });
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const { lines, sink } = collect();
    await checkFunction(new CloudWatchClient({}), new CloudWatchLogsClient({}), stack, 'ec2ip', sink, NOW);
    expect(lines).toEqual([
      expect.objectContaining({ id: 'function-metrics', status: 'warn', missingPermission: 'cloudwatch:GetMetricData' }),
      expect.objectContaining({ id: 'last-reconcile', status: 'warn', message: 'last scheduled reconcile 180 min ago: 1 instances, 0 refused, 0 failed (overdue: schedule rate(15 minutes))' }),
    ]);
  });
});

describe('redrive', () => {
  it('reports how many moved once the move task completes, from the DLQ to the queue', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1 }] }).resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 2 }] });
    const { lines, sink } = collect();
    await redrive(new SQSClient({}), DLQ, QUEUE, sink, { pollMs: 1, sleep: async () => undefined });
    expect(sqs).toHaveReceivedCommandWith(StartMessageMoveTaskCommand, { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN });
    expect(lines).toEqual([expect.objectContaining({ status: 'ok', message: `moved 2 messages back to ${QUEUE}; nothing was deleted` })]);
  });

  it('fails with the reason when the task fails, and names the permission when refused', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'FAILED', FailureReason: 'AWS.SimpleQueueService.NonExistentQueue', ApproximateNumberOfMessagesMoved: 0 }] });
    const first = collect();
    await redrive(new SQSClient({}), DLQ, QUEUE, first.sink, { pollMs: 1, sleep: async () => undefined });
    expect(first.lines).toEqual([expect.objectContaining({ status: 'fail', message: 'the move task FAILED: AWS.SimpleQueueService.NonExistentQueue after moving 0' })]);

    sqs.on(StartMessageMoveTaskCommand).rejects(denied('sqs:StartMessageMoveTask'));
    const second = collect();
    await redrive(new SQSClient({}), DLQ, QUEUE, second.sink, { pollMs: 1, sleep: async () => undefined });
    expect(second.lines).toEqual([expect.objectContaining({ status: 'fail', missingPermission: 'sqs:StartMessageMoveTask' })]);
  });

  it('stops waiting for a long task and says how to follow it', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 5 }] });
    const { lines, sink } = collect();
    await redrive(new SQSClient({}), DLQ, QUEUE, sink, { pollMs: 10, maxWaitMs: 30, sleep: async () => undefined });
    expect(lines).toEqual([expect.objectContaining({ status: 'warn', message: 'the move task is still RUNNING (5 moved so far); it goes on in SQS', fix: `follow it: \`aws sqs list-message-move-tasks --source-arn ${DLQ_ARN}\`` })]);
  });
});
