/** The retry delays of failed SQS items (functions/core/backoff.ts) and the queue URL of a queue ARN. */
import { describe, expect, it } from 'vitest';
import { queueUrlOf } from '../../functions/adapters/sqs.js';
import { BACKOFF_S, MAX_VISIBILITY_S, retryDelaySeconds, waitBeforeDlqSeconds, type RetryReason } from '../../functions/core/backoff.js';

describe('retryDelaySeconds', () => {
  it.each<[RetryReason, number[]]>([
    // receive count:      1   2   3    4    5    6    7
    ['write', /*        */ [5, 15, 45, 120, 300, 300, 300]],
    ['read', /*         */ [5, 15, 45, 120, 300, 300, 300]],
    ['lagging', /*      */ [10, 15, 45, 120, 300, 300, 300]],
    ['no-public-ip', /* */ [20, 20, 45, 120, 300, 300, 300]],
    ['spoke-unreachable', [20, 20, 45, 120, 300, 300, 300]],
    ['malformed', /*    */ [0, 0, 0, 0, 0, 0, 0]],
  ])('gives a %s failure the delays %j for receives 1 to 7', (reason, delays) => {
    expect(delays.map((_, i) => retryDelaySeconds(i + 1, reason))).toEqual(delays);
  });

  it('starts with a throttled write within seconds and never waits longer than SQS allows', () => {
    expect(retryDelaySeconds(1, 'write')).toBe(5);
    expect(retryDelaySeconds(10_000, 'spoke-unreachable')).toBe(300);
    expect(Math.max(...BACKOFF_S)).toBeLessThanOrEqual(MAX_VISIBILITY_S);
  });

  it.each([Number.NaN, 0, -3, Number.POSITIVE_INFINITY])('treats a receive count of %s as the first receive', (count) => {
    expect(retryDelaySeconds(count, 'write')).toBe(5);
    expect(retryDelaySeconds(count, 'lagging')).toBe(10);
  });

  it('rounds a fractional receive count down', () => {
    expect(retryDelaySeconds(2.9, 'write')).toBe(15);
  });
});

describe('waitBeforeDlqSeconds', () => {
  it('adds the delays after every receive up to maxReceiveCount (SQS moves the message at the next receive)', () => {
    expect(waitBeforeDlqSeconds(1, 'write')).toBe(5);
    expect(waitBeforeDlqSeconds(5, 'write')).toBe(5 + 15 + 45 + 120 + 300);
    // The deployed stacks' maxReceiveCount (infra/template.yaml, infra/hub.yaml): about 33 minutes.
    expect(waitBeforeDlqSeconds(10, 'write')).toBe(1985);
    expect(waitBeforeDlqSeconds(10, 'spoke-unreachable')).toBe(20 + 20 + 45 + 120 + 6 * 300);
    expect(waitBeforeDlqSeconds(10, 'malformed')).toBe(0);
  });
});

describe('queueUrlOf', () => {
  it.each([
    ['arn:aws:sqs:us-east-1:123456789012:ec2ip-EventQueue-AbC123', 'https://sqs.us-east-1.amazonaws.com/123456789012/ec2ip-EventQueue-AbC123'],
    ['arn:aws:sqs:eu-west-1:111111111111:q_1.fifo', 'https://sqs.eu-west-1.amazonaws.com/111111111111/q_1.fifo'],
    ['arn:aws-cn:sqs:cn-north-1:123456789012:q', 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q'],
    ['arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q', 'https://sqs.us-gov-west-1.amazonaws.com/123456789012/q'],
  ])('turns %s into %s', (arn, url) => {
    expect(queueUrlOf(arn)).toBe(url);
  });

  it.each(['', 'arn:aws:sns:us-east-1:123456789012:topic', 'arn:aws:sqs:us-east-1:12345:q', 'arn:aws:sqs:us-east-1:123456789012:', 'arn:aws:sqs:us-east-1:123456789012:a/b', 'https://sqs.us-east-1.amazonaws.com/123456789012/q'])(
    'refuses %j',
    (arn) => {
      expect(queueUrlOf(arn)).toBeUndefined();
    },
  );
});
