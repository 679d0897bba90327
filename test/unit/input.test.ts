import { describe, expect, it } from 'vitest';
import { MalformedEventError } from '../../functions/core/errors.js';
import { isSqsEvent, parseEvent, parseSqsRecord } from '../../functions/sync/input.js';
import { loadEvent, sqsRecord } from '../support/events.js';

describe('parseEvent on recorded events', () => {
  it.each([
    ['eventbridge-ec2-state-pending.aws-ec2-userguide', 'pending', 'i-1234567890abcdef0'],
    ['eventbridge-ec2-state-running.aws-lambda-devguide', 'running', 'i-0c314xmplcd5b8173'],
    ['eventbridge-ec2-state-terminated.aws-eventbridge-userguide', 'terminated', 'i-1234567890abcdef0'],
    ['constructed.ec2-state-stopping', 'stopping', 'i-1234567890abcdef0'],
    ['constructed.ec2-state-stopped', 'stopped', 'i-1234567890abcdef0'],
    ['constructed.ec2-state-shutting-down', 'shutting-down', 'i-1234567890abcdef0'],
  ])('reads %s', (name, state, instanceId) => {
    expect(parseEvent(loadEvent(name))).toMatchObject({ kind: 'state', state, instanceId });
  });

  it('reads the scheduled event as a reconcile and an instance tag change as that instance', () => {
    expect(parseEvent(loadEvent('constructed.scheduled'))).toEqual({ kind: 'reconcile' });
    expect(parseEvent(loadEvent('constructed.tag-change-instance'))).toEqual({ kind: 'tag', instanceId: 'i-1234567890abcdef0' });
    expect(parseEvent(loadEvent('constructed.tag-change-volume'))).toMatchObject({ kind: 'ignored' });
  });

  it('does not validate id, account, region or version', () => {
    const e = loadEvent('eventbridge-ec2-state-running.aws-lambda-devguide');
    delete e.version;
    e.account = 'not-an-account';
    e.region = 'mars-1';
    expect(parseEvent(e)).toMatchObject({ kind: 'state' });
  });

  it.each([
    ['constructed.broken-missing-instance-id', /detail\["instance-id"\] is missing/],
    ['constructed.broken-unknown-state', /detail.state of i-1234567890abcdef0 is "rebooting"/],
    ['constructed.broken-instance-id-number', /detail\["instance-id"\] is number/],
  ])('refuses %s naming the field', (name, message) => {
    expect(() => parseEvent(loadEvent(name))).toThrow(message);
  });

  it('names the instance_id variant some tools produce', () => {
    const e = loadEvent('eventbridge-ec2-state-pending.aws-ec2-userguide');
    e.detail = { instance_id: 'i-1234567890abcdef0', state: 'running' };
    expect(() => parseEvent(e)).toThrow(/detail.instance_id/);
  });

  it('cuts huge strings in its messages', () => {
    const e = loadEvent('eventbridge-ec2-state-pending.aws-ec2-userguide');
    e.detail.state = 'x'.repeat(100_000);
    expect(() => parseEvent(e)).toThrow(/\(100000 characters\)/);
    try {
      parseEvent(e);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(400);
    }
  });

  it.each([null, 42, 'text', [], {}, { source: 'aws.ec2' }])('refuses %j', (value) => {
    expect(() => parseEvent(value)).toThrow(MalformedEventError);
  });

  it('ignores events of other sources', () => {
    expect(parseEvent({ source: 'aws.s3', 'detail-type': 'Object Created', detail: {} })).toMatchObject({ kind: 'ignored' });
  });
});

describe('SQS', () => {
  it('recognises an SQS batch', () => {
    expect(isSqsEvent(loadEvent('constructed.sqs-batch'))).toBe(true);
    expect(isSqsEvent(loadEvent('constructed.scheduled'))).toBe(false);
    expect(isSqsEvent({ Records: [] })).toBe(false);
  });

  it('refuses a body that is not JSON', () => {
    expect(() => parseSqsRecord(sqsRecord('this is not JSON {'))).toThrow(/not JSON/);
  });
});
