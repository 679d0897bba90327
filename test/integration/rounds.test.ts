/**
 * Sequential rounds of AWS calls, counted (not timed) through a delaying proxy in front of
 * moto: what one event costs in latency is the number of rounds times the API's latency.
 */
import { AllocateAddressCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countCalls, sequentialRounds, startProxy, type AwsProxy } from '../support/aws-proxy.js';
import { stateChangeEvent } from '../support/events.js';
import { createZone, loadHandler, runInstance, useMoto, type Handler } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

describe('sequential rounds of AWS calls per event', () => {
  const aws = useMoto();
  const audit = useIamAudit('function');
  let proxy: AwsProxy;
  let handler: Handler;

  beforeEach(async () => {
    proxy = await startProxy({ ...audit.hooks, target: aws.endpoint, delayMs: 40 });
    const publicZone = await createZone('example.com');
    const privateZone = await createZone('internal.example', { private: true });
    handler = await loadHandler({ AWS_ENDPOINT_URL: proxy.url, HOSTED_ZONE_ID: publicZone, PRIVATE_HOSTED_ZONE_ID: privateZone, ENABLE_ELASTIC_IP: 'true', PARAMETER_PREFIX: undefined, OWNER_ID: undefined, ON_STOP: undefined, RECORD_TTL: undefined });
  });
  afterEach(() => proxy.stop());

  const run = async (event: unknown) => {
    proxy.requests.length = 0;
    await captureStdout(() => handler(event));
    return { rounds: sequentialRounds(proxy.requests), calls: countCalls(proxy.requests) };
  };

  it('publishes a new instance in both zones in two rounds: the reads, then the writes', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const { rounds, calls } = await run(stateChangeEvent(id, 'running'));
    expect(rounds).toBe(2);
    expect(calls['route53:ChangeResourceRecordSets']).toBe(2);
    expect(calls['ec2:DescribeInstances']).toBe(1);
  });

  it('answers a repeated event in one round of reads and no write', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await run(stateChangeEvent(id, 'running'));
    const { rounds, calls } = await run(stateChangeEvent(id, 'running'));
    expect(rounds).toBe(1);
    expect(Object.keys(calls).filter((k) => /Change|Put|Delete|Associate/.test(k))).toEqual([]);
  });

  it('attaches an Elastic IP and publishes it in three rounds', async () => {
    const eip = await aws.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await aws.ec2.send(new CreateTagsCommand({ Resources: [eip.AllocationId as string], Tags: [{ Key: 'ec2ip:pool', Value: '' }] }));
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': 'auto' } });
    const { rounds, calls } = await run(stateChangeEvent(id, 'running'));
    expect(calls['ec2:AssociateAddress']).toBe(1);
    expect(rounds).toBe(3);
  });
});
