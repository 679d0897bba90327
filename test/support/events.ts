/**
 * Event builders in the exact shapes AWS delivers them (see test/events/ for
 * recorded samples and test/events/README.md for what each file shows).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export type InstanceState =
  | 'pending'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'shutting-down'
  | 'terminated';

export interface EventBridgeEvent<TType extends string, TDetail> {
  version: string;
  id: string;
  'detail-type': TType;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

export type StateChangeEvent = EventBridgeEvent<
  'EC2 Instance State-change Notification',
  { 'instance-id': string; state: string }
>;
export type ScheduledEvent = EventBridgeEvent<'Scheduled Event', Record<string, never>>;
export type TagChangeEvent = EventBridgeEvent<
  'Tag Change on Resource',
  {
    'changed-tag-keys': string[];
    service: string;
    'resource-type': string;
    version: number;
    tags: Record<string, string>;
  }
>;

/** ISO time without milliseconds, as EventBridge writes it. */
export function eventTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface EventOptions {
  /** Event time; default now (the handler treats young events specially). */
  time?: string;
  region?: string;
  account?: string;
}

/** An "EC2 Instance State-change Notification" as EventBridge delivers it. */
export function stateChangeEvent(
  instanceId: string,
  state: InstanceState | (string & {}),
  { time, region = REGION, account = ACCOUNT }: EventOptions = {},
): StateChangeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account,
    time: time ?? eventTime(),
    region,
    resources: [`arn:aws:ec2:${region}:${account}:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state },
  };
}

/** The EventBridge schedule's "Scheduled Event" (source aws.events). */
export function scheduledEvent({ time, region = REGION, account = ACCOUNT }: EventOptions = {}): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: time ?? eventTime(),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/ec2ip-reconcile`],
    detail: {},
  };
}

/**
 * A "Tag Change on Resource" event (source aws.tag) for an EC2 instance.
 * `tags` are the tags after the change; a removed key is only in `changedKeys`.
 */
export function tagChangeEvent(
  instanceId: string,
  tags: Record<string, string>,
  changedKeys: string[],
  {
    time,
    region = REGION,
    account = ACCOUNT,
    resourceType = 'instance',
  }: EventOptions & { resourceType?: string } = {},
): TagChangeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Tag Change on Resource',
    source: 'aws.tag',
    account,
    time: time ?? eventTime(),
    region,
    resources: [`arn:aws:ec2:${region}:${account}:${resourceType}/${instanceId}`],
    detail: {
      'changed-tag-keys': changedKeys,
      service: 'ec2',
      'resource-type': resourceType,
      version: 1,
      tags,
    },
  };
}

let sqsCounter = 0;

/** One SQS record as the Lambda SQS event source delivers it, from the queue CloudFormation names `<stack>-EventQueue` (the one the function role may consume, which the IAM audit checks). */
export function sqsRecord(
  body: unknown,
  { region = REGION, account = ACCOUNT, queue = 'ec2ip-EventQueue', receiveCount = 1 } = {},
): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sent = Date.now() - 1_000 + sqsCounter++;
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${createHash('sha256').update(randomUUID()).digest('base64')}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(sent),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(sent + 2),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${region}:${account}:${queue}`,
    awsRegion: region,
  };
}

/**
 * An SQS event with one record per body (distinct messageIds). Bodies that are
 * strings are used verbatim (so a non-JSON body can be sent); anything else is
 * JSON.stringified.
 */
export function sqsEvent(bodies: readonly unknown[]): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(body)) };
}

/** Reads `test/events/<name>.json` (name with or without `.json`), a fresh copy each call. */
export function loadEvent<T = any>(name: string): T {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  const url = new URL(`../events/${file}`, import.meta.url);
  return structuredClone(JSON.parse(readFileSync(url, 'utf8')) as T);
}
