/**
 * sync() (functions/sync/engine.ts) deciding whose names it may take: which owners it looks
 * up, which names the instances claim, what it releases. DescribeInstances is answered per
 * request, from the ids in its `instance-id` filter (or every tagged instance for the
 * reconcile's `tag-key` filter), as EC2 does: an id that no longer exists is simply absent
 * from the answer (a filter, not InstanceIds, so no InvalidInstanceID error).
 */
import { DescribeInstancesCommand, EC2Client, type DescribeInstancesCommandInput, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/core/log.js';
import { Metrics } from '../../functions/core/metrics.js';
import type { Config } from '../../functions/core/types.js';
import { sync, type Scope } from '../../functions/sync/engine.js';
import { mockedClients, TEST_CREDENTIALS } from '../support/unit-deps.js';

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);

const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';
const C = 'i-0ccccccccccccccc3';
const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };

/** The instances EC2 knows, by id. */
let fleet: Map<string, Ec2Instance>;

function instance(id: string, name: string | undefined, launched: string, state = 'running', ip = '3.3.3.3'): Ec2Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    LaunchTime: new Date(launched),
    ...(state === 'running' ? { PublicIpAddress: ip } : {}),
    PrivateIpAddress: '10.0.0.3',
    Tags: name === undefined ? [] : [{ Key: 'ec2ip:name', Value: name }],
  };
}

const ownership = (id: string, region = 'us-east-1', owner = 'ec2ip') => `"heritage=ec2ip,owner=${owner},region=${region},instance=${id}"`;

/** The records an instance holding `name` has in the zone. */
function held(name: string, id: string, ip = '3.3.3.3', txt = ownership(id)): ResourceRecordSet[] {
  return [
    { Name: `${name}.example.com.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: ip }] },
    { Name: `_ec2ip.${name}.example.com.`, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: txt }] },
  ];
}

function world({ instances = [] as Ec2Instance[], records = [] as ResourceRecordSet[], params = {} as Record<string, string> }) {
  fleet = new Map(instances.map((i) => [i.InstanceId as string, i]));
  ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    const filter = input.Filters?.[0];
    const found =
      filter?.Name === 'instance-id'
        ? (filter.Values ?? []).flatMap((id) => (fleet.has(id) ? [fleet.get(id) as Ec2Instance] : []))
        : filter?.Name === 'tag-key'
          ? [...fleet.values()].filter((i) => i.Tags?.some((t) => filter.Values?.includes(t.Key ?? '')))
          : [];
    return { Reservations: found.length > 0 ? [{ Instances: found }] : [] };
  });
  route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [{ Name: 'example.com.', Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'ns. admin. 1 7200 900 1209600 86400' }] }, ...records],
    IsTruncated: false,
  });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: Object.entries(params).map(([Name, Value]) => ({ Name, Value })) });
  route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: 'c', Status: 'PENDING', SubmittedAt: new Date() } });
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  ssm.on(DeleteParametersCommand).callsFake((input: { Names?: string[] }) => ({ DeletedParameters: input.Names ?? [] }));
}

function run(scope: Scope) {
  return sync(
    {
      clients: mockedClients(),
      config,
      log: createLogger({}, { write: () => undefined }),
      metrics: new Metrics('ec2ip', 'ec2ip'),
      zoneNames: new Map([['ZPUB', 'example.com']]),
    },
    scope,
  );
}

/** The DescribeInstances requests, as the filter each carried: `instance-id a,b` or `tag-key ec2ip:name`. */
const described = () => ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters?.map((f) => `${f.Name} ${[...(f.Values ?? [])].sort().join(',')}`).join(' '));

/** Every Route 53 change sent, as `ACTION TYPE name value`. */
const changes = () =>
  route53.commandCalls(ChangeResourceRecordSetsCommand).flatMap((c) => (c.args[0].input.ChangeBatch?.Changes ?? []).map((ch) => `${ch.Action} ${ch.ResourceRecordSet?.Type} ${ch.ResourceRecordSet?.Name} ${ch.ResourceRecordSet?.ResourceRecords?.map((r) => r.Value).join(' ')}`));
const puts = () => ssm.commandCalls(PutParameterCommand).map((c) => `${c.args[0].input.Name}=${c.args[0].input.Value}`).sort();
const deletes = () => ssm.commandCalls(DeleteParametersCommand).flatMap((c) => c.args[0].input.Names ?? []).sort();

beforeEach(() => {
  ec2.reset();
  route53.reset();
  ssm.reset();
});

describe('sync: the owners it looks up', () => {
  it('looks up the owner of the name an event instance claims, once, and leaves the name to it while it still claims it', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1'), instance(B, 'web', '2024-01-01T00:00:00Z')], records: held('web', B) });
    const result = await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.name}`)).toEqual([`conflict ${A} web`, `conflict ${A} web`]);
    expect(changes()).toEqual([]);
    expect(puts()).toEqual([]);
    expect(deletes()).toEqual([]);
  });

  it('takes over a name whose owner, looked up, no longer exists: its records go, the claimant\'s come', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records: held('web', B), params: { '/ec2ip/web/instance-id': B, '/ec2ip/web/public-ip': '3.3.3.3' } });
    const result = await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(result.plan.refusals).toEqual([]);
    expect(changes().sort()).toEqual([
      `CREATE A web.example.com. 1.1.1.1`,
      `CREATE TXT _ec2ip.web.example.com. ${ownership(A)}`,
      `DELETE A web.example.com. 3.3.3.3`,
      `DELETE TXT _ec2ip.web.example.com. ${ownership(B)}`,
    ]);
    expect(puts()).toEqual([`/ec2ip/web/instance-id=${A}`, '/ec2ip/web/private-ip=10.0.0.3', '/ec2ip/web/public-ip=1.1.1.1']);
  });

  it('takes over a name whose owner lives but now claims another name', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1'), instance(B, 'db', '2024-01-01T00:00:00Z')], records: held('web', B) });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(changes()).toContain(`CREATE TXT _ec2ip.web.example.com. ${ownership(A)}`);
    expect(changes()).toContain(`DELETE TXT _ec2ip.web.example.com. ${ownership(B)}`);
  });

  it('looks up the owner a name\'s instance-id parameter names when the zone has no record of it', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1'), instance(C, 'web', '2024-01-01T00:00:00Z')], params: { '/ec2ip/web/instance-id': C } });
    const result = await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${C}`]);
    // C lives and claims web: A is refused in SSM, and gets no record in the zone either (C owns web in SSM).
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.name}`)).toEqual([`conflict ${A} web`, `conflict ${A} web`]);
    expect(changes()).toEqual([]);
    expect(puts()).toEqual([]);
  });

  it('in an event, does not look up the owners of names no instance of the event claims', async () => {
    world({
      instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '3.3.3.3'), instance(C, 'db', '2024-01-01T00:00:00Z')],
      records: [...held('web', A), ...held('db', C)],
      params: { '/ec2ip/web/instance-id': A, '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3', '/ec2ip/db/instance-id': C },
    });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
    expect(changes()).toEqual([]);
    expect(puts()).toEqual([]);
  });

  it('in the reconcile, looks up every owner that is not among the tagged instances (in the zone and in SSM) and releases what the gone ones held', async () => {
    world({
      instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '3.3.3.3')],
      records: [...held('web', A), ...held('db', B, '4.4.4.4')],
      params: { '/ec2ip/web/instance-id': A, '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3', '/ec2ip/old/instance-id': C, '/ec2ip/old/public-ip': '5.5.5.5' },
    });
    await run({ kind: 'all' });
    expect(described()).toEqual(['tag-key ec2ip:name', `instance-id ${B},${C}`]);
    expect(changes().sort()).toEqual([`DELETE A db.example.com. 4.4.4.4`, `DELETE TXT _ec2ip.db.example.com. ${ownership(B)}`]);
    expect(deletes()).toEqual(['/ec2ip/old/instance-id', '/ec2ip/old/public-ip']);
  });

  it('in the reconcile, an owner that is stopped but still tagged is a target, not looked up again, and keeps its ownership', async () => {
    // describeTagged returns B in any state, so B is a target and its name stays its own.
    world({ instances: [instance(B, 'db', '2024-01-01T00:00:00Z', 'stopped')], records: held('db', B, '4.4.4.4') });
    const result = await run({ kind: 'all' });
    expect(described()).toEqual(['tag-key ec2ip:name']);
    expect([...result.instances.keys()]).toEqual([B]);
    // onStop=delete: the stopped owner's address record goes; its ownership record stays (the name is still B's).
    expect(changes()).toEqual([`DELETE A db.example.com. 4.4.4.4`]);
  });

  it.each([
    ['another stack\'s owner id', ownership(B, 'us-east-1', 'other-stack')],
    ['another region', ownership(B, 'eu-west-1')],
    ['a hub\'s record (with an account)', `"heritage=ec2ip,owner=ec2ip,region=us-east-1,account=111111111111,instance=${B}"`],
  ])('does not look up the instance named by an ownership record of %s, and never takes that name', async (_what, txt) => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records: held('web', B, '3.3.3.3', txt) });
    const result = await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.name}`)).toEqual([`foreign ${A} web`]);
    expect(changes()).toEqual([]);
  });

  it('does not look up an owner named in a TXT record that holds two values (not an ownership record)', async () => {
    const records: ResourceRecordSet[] = [{ Name: '_ec2ip.web.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: ownership(B) }, { Value: '"other"' }] }];
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
  });

  it('in the reconcile, does not look up an instance an ownership value names at a name that is no ownership record\'s', async () => {
    const records: ResourceRecordSet[] = [{ Name: 'notes.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: ownership(B) }] }];
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '3.3.3.3')], records: [...held('web', A), ...records], params: { '/ec2ip/web/instance-id': A, '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3' } });
    await run({ kind: 'all' });
    expect(described()).toEqual(['tag-key ec2ip:name']);
    expect(changes()).toEqual([]);
  });

  it('in single-account mode, fails the run when an owner cannot be looked up, rather than guess', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records: held('web', B) });
    ec2.on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: [B] }] }).rejects(Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' }));
    await expect(run({ kind: 'instances', ids: [A] })).rejects.toThrow('Request limit exceeded.');
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(changes()).toEqual([]);
  });

  it('ignores a parameter under the prefix that is not <name>/<leaf> when looking for owners', async () => {
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], params: { '/ec2ip/stray': B } });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
    expect(puts()).toEqual([`/ec2ip/web/instance-id=${A}`, '/ec2ip/web/private-ip=10.0.0.3', '/ec2ip/web/public-ip=1.1.1.1']);
  });

  it('does not look up an owner named only by a non-TXT record', async () => {
    const records: ResourceRecordSet[] = [{ Name: '_ec2ip.web.example.com.', Type: 'SPF', TTL: 60, ResourceRecords: [{ Value: ownership(B) }] }];
    world({ instances: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
  });
});

describe('sync: the names the instances claim', () => {
  it('claims nothing for an instance without a name tag or with an invalid one, so no owner is looked up for it', async () => {
    world({ instances: [instance(A, undefined, '2024-01-02T00:00:00Z'), instance(C, 'Bad_Name!', '2024-01-02T00:00:00Z')], records: held('web', B) });
    const result = await run({ kind: 'instances', ids: [A, C] });
    expect(described()).toEqual([`instance-id ${A},${C}`]);
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId}`)).toEqual([`invalid-name ${C}`]);
    expect(changes()).toEqual([]);
  });

  it('claims the checked (lower-cased) name, not the raw tag, so the owner of that name is looked up', async () => {
    world({ instances: [instance(A, 'WEB', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')], records: held('web', B) });
    await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(changes()).toContain(`CREATE TXT _ec2ip.web.example.com. ${ownership(A)}`);
  });
});

describe('sync: instances of an event that no longer exist', () => {
  it('releases what a vanished event instance held, without looking it up twice', async () => {
    world({ records: held('web', A), params: { '/ec2ip/web/instance-id': A, '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3' } });
    const result = await run({ kind: 'instances', ids: [A] });
    expect(described()).toEqual([`instance-id ${A}`]);
    expect(result.instances.size).toBe(0);
    expect(changes().sort()).toEqual([`DELETE A web.example.com. 3.3.3.3`, `DELETE TXT _ec2ip.web.example.com. ${ownership(A)}`]);
    expect(deletes()).toEqual(['/ec2ip/web/instance-id', '/ec2ip/web/private-ip', '/ec2ip/web/public-ip']);
  });

  it('releases only the vanished one of two event instances; the one that exists keeps its name', async () => {
    world({
      instances: [instance(C, 'db', '2024-01-01T00:00:00Z', 'running', '4.4.4.4')],
      records: [...held('web', A), ...held('db', C, '4.4.4.4')],
      params: { '/ec2ip/web/instance-id': A, '/ec2ip/db/instance-id': C, '/ec2ip/db/private-ip': '10.0.0.3', '/ec2ip/db/public-ip': '4.4.4.4' },
    });
    const result = await run({ kind: 'instances', ids: [A, C] });
    expect(described()).toEqual([`instance-id ${A},${C}`]);
    expect([...result.instances.keys()]).toEqual([C]);
    expect(changes().sort()).toEqual([`DELETE A web.example.com. 3.3.3.3`, `DELETE TXT _ec2ip.web.example.com. ${ownership(A)}`]);
    expect(deletes()).toEqual(['/ec2ip/web/instance-id']);
  });
});

describe('sync in a hub: each owner looked up in its own spoke', () => {
  const S1 = { account: '111111111111', region: 'us-east-1' };
  const S2 = { account: '222222222222', region: 'eu-west-1' };
  const hubConfig: Config = { ...config, region: 'eu-central-1', hub: { roleName: 'ec2ip-spoke', externalId: 'xid-123', nameTemplate: '{name}', partition: 'aws', spokes: [S1, S2] } };
  const hubOwnership = (spoke: { account: string; region: string }, id: string) => `"heritage=ec2ip,owner=ec2ip,region=${spoke.region},account=${spoke.account},instance=${id}"`;

  /** One EC2 and SSM client per spoke, each mocked on its own, answering from that spoke's instances. */
  function spokes(fleets: Record<string, Ec2Instance[]>, failing: string[] = []) {
    const made = new Map<string, { ec2: EC2Client; ssm: SSMClient; described: () => string[] }>();
    for (const spoke of [S1, S2]) {
      const key = `${spoke.account}/${spoke.region}`;
      const client = new EC2Client({ region: spoke.region, credentials: TEST_CREDENTIALS });
      const ssmClient = new SSMClient({ region: spoke.region, credentials: TEST_CREDENTIALS });
      const ec2Mock = mockClient(client);
      const ssmMock = mockClient(ssmClient);
      const own = new Map((fleets[key] ?? []).map((i) => [i.InstanceId as string, i]));
      if (failing.includes(key)) ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error(`You are not authorized to perform this operation. User: arn:aws:sts::${spoke.account}:assumed-role/ec2ip-spoke-${spoke.region}/ec2ip is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action`), { name: 'UnauthorizedOperation' }));
      else
        ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
          const found = (input.Filters?.[0]?.Values ?? []).flatMap((id) => (own.has(id) ? [own.get(id) as Ec2Instance] : []));
          return { Reservations: found.length > 0 ? [{ Instances: found }] : [] };
        });
      ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
      ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
      const described = () => ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => (c.args[0].input.Filters ?? []).map((f) => `${f.Name} ${(f.Values ?? []).join(',')}`).join(' '));
      made.set(key, { ec2: client, ssm: ssmClient, described });
    }
    return made;
  }

  let hubLogs: Record<string, unknown>[] = [];
  function hubRun(made: ReturnType<typeof spokes>, scope: Scope, nameTemplate = '{name}') {
    hubLogs = [];
    return sync(
      {
        clients: mockedClients('eu-central-1'),
        config: { ...hubConfig, hub: { ...(hubConfig.hub as NonNullable<Config['hub']>), nameTemplate } },
        log: createLogger({}, { write: (line) => hubLogs.push(JSON.parse(line)) }),
        metrics: new Metrics('ec2ip', 'ec2ip'),
        zoneNames: new Map([['ZPUB', 'example.com']]),
        hub: {
          clientsFor: (spoke) => {
            const m = made.get(`${spoke.account}/${spoke.region}`);
            if (!m) throw new Error(`no clients for ${spoke.account}/${spoke.region}`);
            return { ec2: m.ec2, ssm: m.ssm };
          },
          spokes: async () => [S1, S2],
        },
      },
      scope,
    );
  }

  const spokeDescribed = (made: ReturnType<typeof spokes>, key: string) => {
    const m = made.get(key);
    if (!m) throw new Error(`no spoke ${key} in this test`);
    return m.described();
  };

  it('looks up an owner in another spoke with that spoke\'s clients, and takes its name when it is gone', async () => {
    world({ records: held('web', B, '3.3.3.3', hubOwnership(S2, B)) });
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] });
    await hubRun(made, { kind: 'instances', ids: [`${S1.account}/${S1.region}/${A}`] });
    expect(spokeDescribed(made, '111111111111/us-east-1')).toEqual([`instance-id ${A}`]);
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual([`instance-id ${B}`]);
    expect(changes()).toContain(`CREATE TXT _ec2ip.web.example.com. ${hubOwnership(S1, A)}`);
    expect(changes()).toContain(`DELETE TXT _ec2ip.web.example.com. ${hubOwnership(S2, B)}`);
  });

  it('leaves the name to an owner in a spoke it cannot read', async () => {
    world({ records: held('web', B, '3.3.3.3', hubOwnership(S2, B)) });
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] }, ['222222222222/eu-west-1']);
    const result = await hubRun(made, { kind: 'instances', ids: [`${S1.account}/${S1.region}/${A}`] });
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual([`instance-id ${B}`]);
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.name}`)).toEqual([`conflict ${A} web`]);
    expect(changes()).toEqual([]);
    expect(hubLogs.filter((l) => l.message === 'owner not looked up; it keeps its names').map((l) => `${l.account} ${l.region} ${l.reason}`)).toEqual([
      `222222222222 eu-west-1 UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::222222222222:assumed-role/ec2ip-spoke-eu-west-1/ec2ip is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action`,
    ]);
  });

  it('in the reconcile, does not read again a spoke that could not be read: its owners keep their names', async () => {
    world({ records: held('web', B, '3.3.3.3', hubOwnership(S2, B)) });
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] }, ['222222222222/eu-west-1']);
    const result = await hubRun(made, { kind: 'all' });
    expect(spokeDescribed(made, '111111111111/us-east-1')).toEqual(['tag-key ec2ip:name']);
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual(['tag-key ec2ip:name']);
    expect([...result.unreachable.keys()]).toEqual(['222222222222/eu-west-1']);
    expect(changes()).toEqual([]);
  });

  it('under NAME_TEMPLATE, looks up the owner a spoke\'s parameters name under the bare name', async () => {
    world({});
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] });
    const ssmOf = made.get('111111111111/us-east-1')?.ssm as SSMClient;
    mockClient(ssmOf).on(GetParametersByPathCommand).resolves({ Parameters: [{ Name: '/ec2ip/web/instance-id', Value: B }] }).on(PutParameterCommand).resolves({ Version: 1 }).on(DeleteParametersCommand).callsFake((input: { Names?: string[] }) => ({ DeletedParameters: input.Names ?? [] }));
    await hubRun(made, { kind: 'instances', ids: [`${S1.account}/${S1.region}/${A}`] }, '{name}.{region}');
    expect(spokeDescribed(made, '111111111111/us-east-1')).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual([]);
  });

  it('does not look up the instance a single-account record (no account) names: that record is another stack\'s', async () => {
    world({ records: held('web', B) });
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] });
    const result = await hubRun(made, { kind: 'instances', ids: [`${S1.account}/${S1.region}/${A}`] });
    expect(spokeDescribed(made, '111111111111/us-east-1')).toEqual([`instance-id ${A}`]);
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual([]);
    expect(result.plan.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.name}`)).toEqual([`foreign ${A} web`]);
    expect(changes()).toEqual([]);
  });

  it('under NAME_TEMPLATE, looks up the owner of the record name the template makes, not of the bare name', async () => {
    world({ records: [...held('web.us-east-1', B, '3.3.3.3', hubOwnership(S1, B)), ...held('web', C, '5.5.5.5', hubOwnership(S2, C))] });
    const made = spokes({ [`${S1.account}/${S1.region}`]: [instance(A, 'web', '2024-01-02T00:00:00Z', 'running', '1.1.1.1')] });
    await hubRun(made, { kind: 'instances', ids: [`${S1.account}/${S1.region}/${A}`] }, '{name}.{region}');
    expect(spokeDescribed(made, '111111111111/us-east-1')).toEqual([`instance-id ${A}`, `instance-id ${B}`]);
    expect(spokeDescribed(made, '222222222222/eu-west-1')).toEqual([]);
    expect(changes()).toContain(`CREATE TXT _ec2ip.web.us-east-1.example.com. ${hubOwnership(S1, A)}`);
    expect(changes()).toContain(`DELETE TXT _ec2ip.web.us-east-1.example.com. ${hubOwnership(S1, B)}`);
    expect(changes().filter((c) => c.includes(' web.example.com.') || c.includes('_ec2ip.web.example.com.'))).toEqual([]);
  });
});
