/**
 * The handler on recorded and constructed events, with the SDK mocked: every row of
 * SPEC "What each input gets". End-to-end behaviour is proven on moto in test/integration.
 */
import { DescribeInstancesCommand, EC2Client, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/core/log.js';
import type { Config } from '../../functions/core/types.js';
import { createHandler } from '../../functions/sync/handler.js';
import { loadEvent, sqsEvent } from '../support/events.js';
import { capturedMetrics, mockedClients } from '../support/unit-deps.js';

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);

const ID = 'i-1234567890abcdef0';
const NOW = Date.parse('2021-11-11T21:31:00Z');
const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const OWNERSHIP = `"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=${ID}"`;

let logs: Record<string, unknown>[];
let emf: Record<string, unknown>[];

function handler(recheckDelaysMs: number[] = []) {
  const metrics = capturedMetrics(emf);
  return createHandler(
    {
      clients: mockedClients(),
      config,
      log: createLogger({}, { write: (line) => logs.push(JSON.parse(line)) }),
      metrics,
      zoneNames: new Map([['ZPUB', 'example.com']]),
    },
    { now: () => NOW, recheckDelaysMs },
  );
}

function ec2Instance(state: string, over: Partial<Ec2Instance> = {}): Ec2Instance {
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

function world({ instances = [] as Ec2Instance[], records = [] as ResourceRecordSet[], params = {} as Record<string, string> }) {
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: instances.length ? [{ Instances: instances }] : [] });
  route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [{ Name: 'example.com.', Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'ns. admin. 1 7200 900 1209600 86400' }] }, ...records],
    IsTruncated: false,
  });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: Object.entries(params).map(([Name, Value]) => ({ Name, Value })) });
  route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: 'c', Status: 'PENDING', SubmittedAt: new Date() } });
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  ssm.on(DeleteParametersCommand).resolves({ DeletedParameters: [] });
}

const published = {
  records: [
    { Name: 'web.example.com.', Type: 'A' as const, TTL: 60, ResourceRecords: [{ Value: '3.3.3.3' }] },
    { Name: '_ec2ip.web.example.com.', Type: 'TXT' as const, TTL: 60, ResourceRecords: [{ Value: OWNERSHIP }] },
  ],
  params: { '/ec2ip/web/instance-id': ID, '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3' },
};

function event(state: string, time = '2021-11-11T21:30:00Z') {
  const e = loadEvent('eventbridge-ec2-state-pending.aws-ec2-userguide');
  e.detail.state = state;
  e.time = time;
  return e;
}

const writes = () => route53.commandCalls(ChangeResourceRecordSetsCommand).length + ssm.commandCalls(PutParameterCommand).length + ssm.commandCalls(DeleteParametersCommand).length;

beforeEach(() => {
  ec2.reset();
  route53.reset();
  ssm.reset();
  logs = [];
  emf = [];
});

describe('handler: what each input gets', () => {
  it('acknowledges a valid event whose state is already published, without a single write', async () => {
    world({ instances: [ec2Instance('running')], ...published });
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(writes()).toBe(0);
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: [ID] }] });
  });

  it('publishes a running instance in one change batch and creates its parameters', async () => {
    world({ instances: [ec2Instance('running')] });
    await handler()(event('running'));
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    const batch = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes ?? [];
    expect(batch.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type}`)).toEqual(['CREATE TXT', 'CREATE A']);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/public-ip', Value: '3.3.3.3', Overwrite: false, Type: 'String' });
    expect(emf[0]).toMatchObject({ Service: 'ec2ip', Published: 5 });
  });

  it.each(['constructed.broken-missing-instance-id', 'constructed.broken-unknown-state', 'constructed.broken-instance-id-number'])(
    'rejects the malformed event %s with one log line and no call at all',
    async (name) => {
      world({});
      await expect(handler()(loadEvent(name))).rejects.toThrow(/malformed event/);
      expect(logs.filter((l) => l.message === 'malformed event')).toHaveLength(1);
      expect(ec2.calls()).toHaveLength(0);
      expect(writes()).toBe(0);
    },
  );

  it('reports only the malformed item of an SQS batch and publishes the others', async () => {
    world({ instances: [ec2Instance('running')] });
    const batch = loadEvent('constructed.sqs-batch');
    const result = await handler()(batch);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[2].messageId }] });
    expect(logs.filter((l) => l.message === 'malformed event')).toEqual([expect.objectContaining({ messageId: batch.Records[2].messageId, reason: expect.stringContaining('not JSON') })]);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
  });

  it('acknowledges a tag change of a volume with no call at all', async () => {
    world({});
    await expect(handler()(loadEvent('constructed.tag-change-volume'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(ec2.calls()).toHaveLength(0);
    expect(route53.calls()).toHaveLength(0);
  });

  it.each(['pending', 'running'])('retries a %s event for an instance DescribeInstances does not show yet', async (state) => {
    world({ instances: [] });
    await expect(handler()(event(state))).rejects.toThrow(/not visible to DescribeInstances yet/);
    expect(writes()).toBe(0);
  });

  it.each(['stopping', 'stopped', 'shutting-down', 'terminated'])('acknowledges a %s event for a vanished instance and removes what it owned', async (state) => {
    world({ instances: [], ...published });
    await expect(handler()(event(state))).resolves.toEqual({ status: 'done', items: 1 });
    const changes = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes ?? [];
    expect(changes.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type}`)).toEqual(['DELETE A', 'DELETE TXT']);
    expect(ssm).toHaveReceivedCommandWith(DeleteParametersCommand, { Names: ['/ec2ip/web/instance-id', '/ec2ip/web/private-ip', '/ec2ip/web/public-ip'] });
  });

  it.each([
    ['running', 'pending'],
    ['stopped', 'stopping'],
    ['terminated', 'shutting-down'],
  ])('retries a %s event while DescribeInstances still shows %s', async (state, shown) => {
    world({ instances: [ec2Instance(shown)], ...published });
    await expect(handler()(event(state))).rejects.toThrow(`still shows ${ID} ${shown}`);
  });

  it('reads a lagging instance again within the invocation and publishes it once DescribeInstances catches up', async () => {
    world({ instances: [] });
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [ec2Instance('pending')] }] })
      .resolvesOnce({ Reservations: [{ Instances: [ec2Instance('running', { PublicIpAddress: undefined })] }] })
      .resolves({ Reservations: [{ Instances: [ec2Instance('running')] }] });
    await expect(handler([5, 5])(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 3);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/public-ip', Value: '3.3.3.3' });
    expect(logs.filter((l) => l.message === 'DescribeInstances lags the events; reading again')).toHaveLength(2);
  });

  it('sends a lagging item back once its rechecks are used up', async () => {
    world({ instances: [ec2Instance('pending')] });
    await expect(handler([5])(event('running'))).rejects.toThrow(/still shows i-1234567890abcdef0 pending/);
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
  });

  it('does not recheck an item whose write failed: that is for the queue to retry', async () => {
    world({ instances: [ec2Instance('running')] });
    route53.on(ChangeResourceRecordSetsCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    await expect(handler([5, 5])(event('running'))).rejects.toThrow(/failed/);
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
  });

  it('publishes the state DescribeInstances shows when it is newer than the event', async () => {
    world({ instances: [ec2Instance('stopped')], ...published });
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    const changes = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes ?? [];
    expect(changes.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type}`)).toEqual(['DELETE A']);
    expect(ssm).toHaveReceivedCommandWith(DeleteParametersCommand, { Names: ['/ec2ip/web/public-ip'] });
  });

  it('publishes the private parts of a running instance without a public IP and retries while the event is recent', async () => {
    world({ instances: [ec2Instance('running', { PublicIpAddress: undefined })] });
    await expect(handler()(event('running', '2021-11-11T21:30:00Z'))).rejects.toThrow(/without a public IPv4 yet/);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/private-ip', Value: '10.0.0.3' });
    expect(ssm).not.toHaveReceivedCommandWith(PutParameterCommand, { Name: '/ec2ip/web/public-ip' });
  });

  it('accepts that a running instance has no public IP once the event is two minutes old', async () => {
    world({ instances: [ec2Instance('running', { PublicIpAddress: undefined })], ...published });
    await expect(handler()(event('running', '2021-11-11T21:28:59Z'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(ssm).toHaveReceivedCommandWith(DeleteParametersCommand, { Names: ['/ec2ip/web/public-ip'] });
  });

  it('retries every item when AWS still throttles after the SDK’s own retries', async () => {
    world({});
    ec2.on(DescribeInstancesCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    const batch = sqsEvent([event('running'), event('stopped')]);
    const result = await handler()(batch);
    expect(result).toEqual({ batchItemFailures: batch.Records.map((r) => ({ itemIdentifier: r.messageId })) });
    expect(logs.find((l) => l.message === 'sync failed; the items will be retried')).toMatchObject({ reason: expect.stringContaining('Rate exceeded') });
  });

  it('retries an instance whose change batch failed for a transient reason', async () => {
    world({ instances: [ec2Instance('running')] });
    route53.on(ChangeResourceRecordSetsCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    await expect(handler()(event('running'))).rejects.toThrow(/Route 53 change to web.example.com in zone ZPUB failed/);
  });

  it('acknowledges an instance with an invalid name after one log line and a metric, writing nothing', async () => {
    world({ instances: [ec2Instance('running', { Tags: [{ Key: 'ec2ip:name', Value: '*' }] })] });
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(writes()).toBe(0);
    expect(logs.filter((l) => l.message === 'name refused')).toEqual([expect.objectContaining({ instanceId: ID, reason: expect.stringContaining('"*"') })]);
    expect(emf[0]).toMatchObject({ Refused: 1 });
  });

  it('acknowledges an instance whose name belongs to someone else, writing nothing to that zone', async () => {
    world({ instances: [ec2Instance('running')], records: [{ Name: 'web.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '8.8.8.8' }] }] });
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    expect(logs.filter((l) => l.message === 'name owned by someone else')).toEqual([expect.objectContaining({ instanceId: ID, name: 'web', zone: 'example.com' })]);
    expect(emf[0]).toMatchObject({ Refused: 1 });
  });

  it('re-plans a zone whose change batch went stale and applies the fresh plan', async () => {
    world({ instances: [ec2Instance('running', { PublicIpAddress: '4.4.4.4' })], ...published });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(Object.assign(new Error('values do not match'), { name: 'InvalidChangeBatch' }))
      .resolves({ ChangeInfo: { Id: 'c', Status: 'PENDING', SubmittedAt: new Date() } });
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 2);
    expect(logs.some((l) => l.message === 'change batch went stale; re-planning from fresh records')).toBe(true);
  });

  it('loses a race for a free name cleanly: the CREATE fails, the re-plan sees the winner, and nothing is overwritten', async () => {
    world({ instances: [ec2Instance('running')] });
    const winner = '"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=i-0aaaaaaaaaaaaaaaa"';
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [{ Name: 'example.com.', Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'soa' }] }], IsTruncated: false })
      .resolves({ ResourceRecordSets: [{ Name: '_ec2ip.web.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: winner }] }], IsTruncated: false });
    ec2.on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: ['i-0aaaaaaaaaaaaaaaa'] }] }).resolves({ Reservations: [{ Instances: [ec2Instance('running', { InstanceId: 'i-0aaaaaaaaaaaaaaaa' })] }] });
    route53.on(ChangeResourceRecordSetsCommand).rejects(Object.assign(new Error('Tried to create resource record set but it already exists'), { name: 'InvalidChangeBatch' }));
    await expect(handler()(event('running'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    const changes = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes ?? [];
    expect(changes[0]).toMatchObject({ Action: 'CREATE', ResourceRecordSet: { Type: 'TXT', Name: '_ec2ip.web.example.com.' } });
    expect(changes.map((c) => c.Action)).toEqual(['CREATE', 'CREATE']);
    // The parameter folder was free: it is claimed by create only (Overwrite false), never by a put.
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => `${p.Name} ${String(p.Overwrite)}`)).toEqual(['/ec2ip/web/instance-id false', '/ec2ip/web/private-ip false', '/ec2ip/web/public-ip false']);
    expect(ssm).toHaveReceivedCommandTimes(DeleteParametersCommand, 0);
    expect(logs.filter((l) => l.message === 'name conflict').map((l) => l.zone)).toContain('example.com');
  });

  it('runs a full reconcile for the scheduled event', async () => {
    world({ instances: [ec2Instance('running')] });
    await expect(handler()(loadEvent('constructed.scheduled'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: [{ Name: 'tag-key', Values: ['ec2ip:name'] }] });
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
  });

  it('syncs the instance named by a tag-change event', async () => {
    world({ instances: [ec2Instance('running')] });
    await expect(handler()(loadEvent('constructed.tag-change-instance'))).resolves.toEqual({ status: 'done', items: 1 });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: [ID] }] });
  });
});
