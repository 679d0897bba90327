/**
 * Reading the Lambda's input: which items an invocation holds and what each one asks for.
 * Pure; every refusal says which field is wrong and what was expected.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { MalformedEventError } from '../core/errors.js';
import { INSTANCE_STATES, type InstanceState } from '../core/types.js';

export const STATE_CHANGE = 'EC2 Instance State-change Notification';
export const TAG_CHANGE = 'Tag Change on Resource';
export const SCHEDULED = 'Scheduled Event';

/** Where an event comes from: its `account` and `region` fields, when they look valid (a hub needs them; single-account mode ignores them). */
export interface Origin {
  account?: string;
  region?: string;
}

/** What one event asks for. */
export type Request =
  | { kind: 'state'; instanceId: string; state: InstanceState; time: string }
  | { kind: 'tag'; instanceId: string }
  | { kind: 'reconcile' }
  | { kind: 'ignored'; reason: string };

const INSTANCE_ID = /^i-[0-9a-z]{1,40}$/;
const INSTANCE_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]*:\d*:instance\/(i-[0-9a-z]{1,40})$/;
const MAX_TEXT = 256;

/** Whether the invocation is an SQS batch rather than one EventBridge event. */
export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records.every((r) => (r as { eventSource?: unknown } | null)?.eventSource === 'aws:sqs');
}

/** Reads an SQS record's body as an EventBridge event. */
export function parseSqsRecord(record: SQSRecord): Request {
  return parseEvent(sqsBody(record));
}

/** The event an SQS message carries, parsed from its JSON body; throws MalformedEventError. */
export function sqsBody(record: SQSRecord): unknown {
  if (typeof record.body !== 'string') throw new MalformedEventError('the SQS message has no body');
  try {
    return JSON.parse(record.body);
  } catch (error) {
    throw new MalformedEventError(`the SQS message body is not JSON (${clip(record.body, 80)})`, { cause: error });
  }
}

/** Reads one EventBridge event; throws MalformedEventError naming the field at fault. */
export function parseEvent(event: unknown): Request {
  if (!isObject(event)) throw new MalformedEventError(`the event is ${describe(event)}, not an EventBridge event object`);
  const source = event.source;
  const type = event['detail-type'];
  if (typeof source !== 'string') throw new MalformedEventError(`the event has no "source" string (got ${describe(source)})`);
  if (typeof type !== 'string') throw new MalformedEventError(`the event has no "detail-type" string (got ${describe(type)})`);

  if (source === 'aws.ec2' && type === STATE_CHANGE) return parseStateChange(event);
  if (source === 'aws.tag' && type === TAG_CHANGE) return parseTagChange(event);
  if (source === 'aws.events' && type === SCHEDULED) return { kind: 'reconcile' };
  return { kind: 'ignored', reason: `events of source "${clip(source, 40)}" and type "${clip(type, 60)}" are not handled` };
}

function parseStateChange(event: Record<string, unknown>): Request {
  const detail = event.detail;
  if (!isObject(detail)) throw new MalformedEventError(`the state-change event has no "detail" object (got ${describe(detail)})`);
  const id = detail['instance-id'];
  if (id === undefined && 'instance_id' in detail) {
    throw new MalformedEventError('the state-change event has detail.instance_id; EC2 events carry detail["instance-id"]');
  }
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw new MalformedEventError(`detail["instance-id"] is ${describe(id)}, not an instance id like i-0123456789abcdef0`);
  }
  const state = detail.state;
  if (typeof state !== 'string' || !(INSTANCE_STATES as readonly string[]).includes(state)) {
    throw new MalformedEventError(`detail.state of ${id} is ${describe(state)}, not one of ${INSTANCE_STATES.join(', ')}`);
  }
  const time = event.time;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
    throw new MalformedEventError(`the state-change event of ${id} has no valid "time" (got ${describe(time)})`);
  }
  return { kind: 'state', instanceId: id, state: state as InstanceState, time };
}

function parseTagChange(event: Record<string, unknown>): Request {
  const detail = event.detail;
  if (!isObject(detail)) throw new MalformedEventError(`the tag-change event has no "detail" object (got ${describe(detail)})`);
  if (detail.service !== 'ec2' || detail['resource-type'] !== 'instance') {
    return { kind: 'ignored', reason: `tag changes of ${describe(detail.service)} ${describe(detail['resource-type'])} resources are not handled` };
  }
  const resources = event.resources;
  if (!Array.isArray(resources) || resources.length === 0) {
    throw new MalformedEventError(`the tag-change event has no "resources" list (got ${describe(resources)})`);
  }
  const arn = resources[0];
  const match = typeof arn === 'string' ? INSTANCE_ARN.exec(arn) : null;
  if (!match?.[1]) throw new MalformedEventError(`resources[0] of the tag-change event is ${describe(arn)}, not an EC2 instance ARN`);
  return { kind: 'tag', instanceId: match[1] };
}

/**
 * The event's own `account` and `region`: for an event forwarded to a hub's bus, EventBridge
 * keeps the source account and region there. The resource ARN is not used: recorded samples
 * show its account can differ from the event's.
 */
export function eventOrigin(event: unknown): Origin {
  const origin: Origin = {};
  if (!isObject(event)) return origin;
  if (typeof event.account === 'string' && /^\d{12}$/.test(event.account)) origin.account = event.account;
  if (typeof event.region === 'string' && /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(event.region)) origin.region = event.region;
  return origin;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, safe rendering of a bad value for a log line (huge strings are cut). */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(clip(value, 80));
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${clip(String(value), 40)}`;
}

function clip(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}
