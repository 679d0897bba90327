/** Adapters with the SDK mocked: paging, batching at Route 53's limits, claims that never overwrite. */
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeInstances, toInstance } from '../../functions/adapters/ec2.js';
import { applyGroups, listRecords, readNames, toBatches } from '../../functions/adapters/route53.js';
import { applyParameters, listParameters, PutPacer } from '../../functions/adapters/ssm.js';
import type { ChangeGroup } from '../../functions/core/plan.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const r53 = mockClient(Route53Client);
const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);
const route53 = new Route53Client({ region: 'us-east-1', credentials });
const ssm = new SSMClient({ region: 'us-east-1', credentials });
const ec2 = new EC2Client({ region: 'us-east-1', credentials });

beforeEach(() => {
  r53.reset();
  ssmMock.reset();
  ec2Mock.reset();
});

function group(name: string, values: number, valueLength = 10): ChangeGroup {
  return { name, reason: 'update', instanceIds: [`i-${name}`], changes: [{ action: 'CREATE', record: { name: `${name}.example.com.`, type: 'TXT', ttl: 60, values: Array.from({ length: values }, () => 'v'.repeat(valueLength)) } }] };
}

describe('Route 53 adapter', () => {
  it('packs groups into as few batches as Route 53’s limits allow, never splitting a group', () => {
    const groups = Array.from({ length: 5 }, (_, i) => group(`n${i}`, 300));
    expect(toBatches(groups).map((b) => b.map((g) => g.name))).toEqual([['n0', 'n1', 'n2'], ['n3', 'n4']]);
    const wide = Array.from({ length: 4 }, (_, i) => group(`w${i}`, 1, 10_000));
    expect(toBatches(wide).map((b) => b.length)).toEqual([3, 1]);
    expect(toBatches(Array.from({ length: 100 }, (_, i) => group(`s${i}`, 2)))).toHaveLength(1);
  });

  it('follows NextRecordName until the listing ends', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [{ Name: 'A.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '1.1.1.1' }] }], IsTruncated: true, NextRecordName: 'b.example.com.', NextRecordType: 'A' })
      .resolvesOnce({ ResourceRecordSets: [{ Name: 'b.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '2.2.2.2' }] }], IsTruncated: false });
    const listing = await listRecords(route53, 'Z1');
    expect(listing.records.map((r) => r.name)).toEqual(['a.example.com.', 'b.example.com.']);
    expect(listing.next).toBeUndefined();
    expect(r53).toHaveReceivedNthCommandWith(ListResourceRecordSetsCommand, 2, { StartRecordName: 'b.example.com.', StartRecordType: 'A' });
  });

  it('stops after the pages it was asked for and says where to go on', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: true, NextRecordName: 'm.example.com.' });
    expect(await listRecords(route53, 'Z1', undefined, 1)).toEqual({ records: [], next: { name: 'm.example.com.' } });
  });

  it('reads a name and its ownership record and keeps only exact matches', async () => {
    r53.on(ListResourceRecordSetsCommand).callsFake((input: { StartRecordName: string }) => ({
      ResourceRecordSets: [
        { Name: input.StartRecordName, Type: input.StartRecordName.startsWith('_') ? 'TXT' : 'A', TTL: 60, ResourceRecords: [{ Value: 'x' }] },
        { Name: `0.${input.StartRecordName}`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: 'y' }] },
      ],
    }));
    const records = await readNames(route53, 'Z1', 'example.com', ['web']);
    expect(records.map((r) => `${r.type} ${r.name}`)).toEqual(['A web.example.com.', 'TXT _ec2ip.web.example.com.']);
  });

  it('tells a rejected batch (stale) from a failed one (retry later)', async () => {
    r53.on(ChangeResourceRecordSetsCommand).rejectsOnce(Object.assign(new Error('Tried to delete resource record set but it was not found'), { name: 'InvalidChangeBatch' })).rejectsOnce(Object.assign(new Error('Throttled'), { name: 'Throttling' }));
    const many = Array.from({ length: 6 }, (_, i) => group(`g${i}`, 300));
    const outcome = await applyGroups(route53, 'Z1', many);
    expect(outcome.stale.map((g) => g.name)).toEqual(['g0', 'g1', 'g2']);
    expect(outcome.failed.map((f) => f.group.name)).toEqual(['g3', 'g4', 'g5']);
    expect(outcome.applied).toEqual([]);
  });
});

describe('SSM adapter', () => {
  it('pages through GetParametersByPath recursively', async () => {
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: '/ec2ip/a/instance-id', Value: 'i-1' }], NextToken: 't' })
      .resolvesOnce({ Parameters: [{ Name: '/ec2ip/b/instance-id', Value: 'i-2' }] });
    const listing = await listParameters(ssm, '/ec2ip');
    expect([...listing.parameters.keys()]).toEqual(['/ec2ip/a/instance-id', '/ec2ip/b/instance-id']);
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersByPathCommand, { Path: '/ec2ip', Recursive: true });
  });

  it('claims with Overwrite=false, updates with Overwrite=true and deletes ten names per call', async () => {
    ssmMock.on(PutParameterCommand).resolves({});
    ssmMock.on(DeleteParametersCommand).resolves({});
    const deletes = Array.from({ length: 12 }, (_, i) => ({ action: 'delete' as const, parameter: `/ec2ip/n${i}/public-ip`, name: `n${i}`, instanceIds: [] }));
    const outcome = await applyParameters(ssm, [
      { action: 'create', parameter: '/ec2ip/web/instance-id', value: 'i-1', name: 'web', instanceIds: ['i-1'] },
      { action: 'put', parameter: '/ec2ip/web/public-ip', value: '1.1.1.1', name: 'web', instanceIds: ['i-1'] },
      ...deletes,
    ]);
    expect(outcome.failed).toEqual([]);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/instance-id', Overwrite: false });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/public-ip', Overwrite: true });
    expect(ssmMock).toHaveReceivedCommandTimes(DeleteParametersCommand, 2);
  });

  it('leaves the puts it has no time for to the next delivery, without sending them', async () => {
    ssmMock.on(PutParameterCommand).resolves({});
    const changes = Array.from({ length: 8 }, (_, i) => ({ action: 'put' as const, parameter: `/ec2ip/n${i}/public-ip`, value: '1.1.1.1', name: `n${i}`, instanceIds: [`i-${i}`] }));
    const outcome = await applyParameters(ssm, changes, { deadline: Date.now() + 200, pacer: new PutPacer(3) });
    expect(outcome.applied.length).toBeLessThan(8);
    expect(outcome.failed.length).toBe(8 - outcome.applied.length);
    expect(String(outcome.failed[0]?.error)).toMatch(/no time left in this invocation/);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, outcome.applied.length);
  });

  it('reports a lost claim as a failure of that change only', async () => {
    ssmMock.on(PutParameterCommand, { Name: '/ec2ip/web/instance-id' }).rejects(Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' }));
    ssmMock.on(PutParameterCommand, { Name: '/ec2ip/api/instance-id' }).resolves({});
    const outcome = await applyParameters(ssm, [
      { action: 'create', parameter: '/ec2ip/web/instance-id', value: 'i-1', name: 'web', instanceIds: ['i-1'] },
      { action: 'create', parameter: '/ec2ip/api/instance-id', value: 'i-2', name: 'api', instanceIds: ['i-2'] },
    ]);
    expect(outcome.failed.map((f) => f.change.name)).toEqual(['web']);
    expect(outcome.applied.map((c) => c.name)).toEqual(['api']);
  });
});

describe('EC2 adapter', () => {
  const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../events/${name}.json`, import.meta.url), 'utf8'));

  it('reads the recorded DescribeInstances samples, refusing an address that is not an IP', () => {
    const [running] = fixture('describe-instances.running-public-ip.aws-cli-v2-reference-example1').Reservations[0].Instances;
    expect(toInstance(running)).toEqual({ id: 'i-1234567890abcdef0', state: 'running', launchTime: '2022-11-15T10:48:59.000Z', firstBootTime: '2022-11-15T10:48:59.000Z', publicIp: '34.253.223.13', ipv6: [] });
    const pair = fixture('describe-instances.stopped-and-running.botocore-parsed-fixture').Reservations.flatMap((r: { Instances: unknown[] }) => r.Instances);
    expect(pair.map(toInstance)).toEqual([
      { id: 'i-fde9cece', state: 'stopped', launchTime: '2012-10-16T20:00:13.000Z', ipv6: [] },
      { id: 'i-78f1b94a', state: 'running', launchTime: '2013-03-12T01:55:59.000Z', publicIp: '54.245.16.142', privateIp: '10.253.17.74', ipv6: [] },
    ]);
  });

  it('describes by an instance-id filter, 200 ids per call, so a vanished id fails nothing', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `i-${i}`);
    // As EC2 answers an instance-id filter: the instances that exist, here all but i-7.
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => ({
      Reservations: [{ Instances: (input.Filters?.[0]?.Values ?? []).filter((id) => id !== 'i-7').map((id) => ({ InstanceId: id, State: { Name: 'running' } })) }],
    }));
    const found = await describeInstances(ec2, ids);
    expect(found.map((i) => i.id)).toEqual(ids.filter((id) => id !== 'i-7'));
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.InstanceIds)).toEqual([undefined, undefined]);
    expect(calls.map((c) => c.Filters)).toEqual([
      [{ Name: 'instance-id', Values: ids.slice(0, 200) }],
      [{ Name: 'instance-id', Values: ids.slice(200) }],
    ]);
  });
});
