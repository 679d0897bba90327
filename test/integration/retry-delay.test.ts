/**
 * A failed SQS item comes back after its retry delay, not after the queue's visibility
 * timeout: the built handler on a message received from a moto queue whose visibility
 * timeout is 720 s (the deployed stack's), with its Route 53 write throttled by the proxy.
 * Moto keeps visibility timeouts as SQS does. Times are measured generously: the point is
 * seconds against 12 minutes.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPinnedHandler } from '../support/bundle.js';
import { startProxy, type AwsProxy } from '../support/aws-proxy.js';
import { createWorld } from '../support/convergence.js';
import { stateChangeEvent } from '../support/events.js';
import { REGION, runInstance, useMoto } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

const QUEUE_VISIBILITY_S = 720;

function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** The Lambda SQS event source's record for a received message. */
function recordOf(m: Message, queueArn: string): SQSRecord {
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: m.Attributes as unknown as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

async function receive(sqs: SQSClient, QueueUrl: string, waitSeconds: number): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, AttributeNames: ['All'] }));
  return out.Messages ?? [];
}

describe('the retry delay of a failed SQS item, on moto', () => {
  const moto = useMoto();
  const audit = useIamAudit('function');
  let proxy: AwsProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });

  it('makes a throttled item receivable again within seconds, not after the queue\'s 720 s', async () => {
    const sqs = sqsClient(moto.endpoint);
    // The name CloudFormation gives the stack's EventQueue (`<stack>-EventQueue-…`): the queue the function role may consume.
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ec2ip-EventQueue', Attributes: { VisibilityTimeout: String(QUEUE_VISIBILITY_S) } }));
    if (!QueueUrl) throw new Error('moto created no queue');
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
    expect(queueArn).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:ec2ip-EventQueue$/);

    const world = await createWorld();
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(stateChangeEvent(id, 'running')) }));
    const [message, ...more] = await receive(sqs, QueueUrl, 0);
    expect(more).toHaveLength(0);
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
    // Moto keeps the queue's visibility timeout: the message is in flight now.
    expect(await receive(sqs, QueueUrl, 0)).toHaveLength(0);

    // Every Route 53 write is throttled; the SDK gives up at once (one attempt).
    proxy = await startProxy({ ...audit.hooks, target: moto.endpoint, faults: { rate: 1, kinds: ['throttle'], services: ['route53'], actions: ['ChangeResourceRecordSets'] } });
    const handler = await loadPinnedHandler({ ...world.env, AWS_ENDPOINT_URL: proxy.url, AWS_MAX_ATTEMPTS: '1' });
    const record = recordOf(message as Message, queueArn);
    const { result, lines } = await captureStdout(() => handler({ Records: [record] }));
    const answered = Date.now();

    expect((result as SQSBatchResponse).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(lines.find((l) => l.message === 'item will be retried')).toMatchObject({ messageId: record.messageId, retryInSeconds: 5, receiveCount: 1, reason: expect.stringContaining('Throttling') });
    expect(lines.filter((l) => l.message === "retry delay not set; the items come back after the queue's visibility timeout")).toEqual([]);
    const calls = proxy.requests.filter((r) => r.service === 'sqs').map((r) => `${r.action} ${r.outcome}`);
    expect(calls).toEqual(['ChangeMessageVisibilityBatch forwarded']);

    // Comes back after the short delay: poll for up to 2 minutes (the queue's own timeout is 12).
    let again: Message | undefined;
    while (!again && Date.now() - answered < 120_000) [again] = await receive(sqs, QueueUrl, 1);
    const seconds = (Date.now() - answered) / 1000;
    expect(again?.MessageId, `received again after ${seconds} s`).toBe(record.messageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(seconds).toBeLessThan(QUEUE_VISIBILITY_S / 6);
  });
});
