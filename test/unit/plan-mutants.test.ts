/**
 * The planner's branches that its tables left open (found by `npm run mutate`): names in scope
 * from records or parameters alone, refusals and their words, group reasons and instance ids,
 * takeovers, multi-value records, aliases and records ec2ip does not manage.
 */
import { describe, expect, it } from 'vitest';
import { changeCount, plan, type Plan, type PlanInput, type ZoneView } from '../../functions/core/plan.js';
import type { Config, Instance, RecordSet } from '../../functions/core/types.js';

const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const PUB = { id: 'ZPUB', kind: 'public', name: 'example.com' } as const;
const A = '111111111111';
const hubConfig: Config = { ...config, region: 'eu-central-1', hub: { roleName: 'r', externalId: 'xid', nameTemplate: '{name}', partition: 'aws' } };

function instance(id: string, over: Partial<Instance> = {}): Instance {
  return { id, state: 'running', nameTag: 'web', launchTime: '2026-01-01T00:00:00.000Z', publicIp: '3.3.3.3', privateIp: '10.0.0.3', ipv6: [], ...over };
}
const own = (id: string) => `"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=${id}"`;
const hubOwn = (id: string, account = A, region = 'us-east-1') => `"heritage=ec2ip,owner=ec2ip,region=${region},account=${account},instance=${id}"`;
const txt = (name: string, ...values: string[]): RecordSet => ({ name: `_ec2ip.${name}.example.com.`, type: 'TXT', ttl: 60, values });
const rec = (name: string, type: string, ...values: string[]): RecordSet => ({ name: `${name}.example.com.`, type, ttl: 60, values });

function run(over: Partial<PlanInput> & { pub?: RecordSet[]; params?: [string, string][] }): Plan {
  const { pub, params, ...rest } = over;
  const zones: ZoneView[] = [{ zone: PUB, records: pub ?? [] }];
  return plan({ config, zones, parameters: new Map(params ?? []), targets: [], others: [], scope: 'targets', ...rest });
}
const changes = (p: Plan) => [
  ...p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes.map((c) => `${c.action} ${c.record.type} ${c.record.name} ${c.record.values.join(' ')}`))),
  ...p.parameters.map((c) => `ssm ${c.action} ${c.parameter}${c.value !== undefined ? `=${c.value}` : ''}`),
];
const groups = (p: Plan) => p.zones.flatMap((z) => z.groups.map((g) => ({ name: g.name, reason: g.reason, instanceIds: g.instanceIds })));
const published = (id: string, ip = '3.3.3.3') => [txt('web', own(id)), rec('web', 'A', ip)];
const params = (id: string, ip = '3.3.3.3'): [string, string][] => [['/ec2ip/web/instance-id', id], ['/ec2ip/web/private-ip', '10.0.0.3'], ['/ec2ip/web/public-ip', ip]];

describe('names in scope', () => {
  it('releases a name found only in the zone in a full reconcile (no parameters, no instance)', () => {
    const p = run({ scope: 'all', pub: published('i-gone'), lookedUp: new Set(['i-gone']) });
    expect(changes(p)).toEqual(['DELETE A web.example.com. 3.3.3.3', `DELETE TXT _ec2ip.web.example.com. ${own('i-gone')}`]);
    expect(groups(p)).toEqual([{ name: 'web', reason: 'release', instanceIds: ['i-gone'] }]);
  });

  it('leaves the names of instances outside the targets alone in a targeted run', () => {
    const other = instance('i-2', { nameTag: 'db', publicIp: '9.9.9.9' });
    const p = run({ targets: [instance('i-1')], others: [other], pub: [...published('i-1'), txt('db', own('i-2')), rec('db', 'A', '1.1.1.1')], params: [...params('i-1'), ['/ec2ip/db/instance-id', 'i-2'], ['/ec2ip/db/public-ip', '1.1.1.1']] });
    expect(changes(p)).toEqual([]);
  });

  it('takes no TXT of another type at the ownership name as ownership, and plans names from parameters', () => {
    const p = run({ scope: 'all', params: [['/ec2ip/old/public-ip', '1.1.1.1'], ['/other/x/public-ip', '2.2.2.2']] });
    expect(changes(p)).toEqual(['ssm delete /ec2ip/old/public-ip']);
    expect(p.parameters.map((c) => c.instanceIds)).toEqual([[]]);
    expect(changes(run({ scope: 'targets', params: [['/ec2ip/old/public-ip', '1.1.1.1']] }))).toEqual([]);
  });

  it('deletes the parameters of a name its owner left, in a targeted run, in sorted order', () => {
    const moved = instance('i-1', { nameTag: 'new' });
    const p = run({ targets: [moved], params: [['/ec2ip/web/public-ip', '3.3.3.3'], ['/ec2ip/web/instance-id', 'i-1'], ['/ec2ip/web/private-ip', '10.0.0.3']] });
    expect(changes(p).filter((c) => c.includes('/web/'))).toEqual(['ssm delete /ec2ip/web/instance-id', 'ssm delete /ec2ip/web/private-ip', 'ssm delete /ec2ip/web/public-ip']);
    expect(p.parameters.filter((c) => c.name === 'web').map((c) => c.instanceIds)).toEqual([['i-1'], ['i-1'], ['i-1']]);
  });
});

describe('names in scope, continued', () => {
  it('releases no name in a targeted run whose gone owner is not a target', () => {
    const p = run({ targets: [instance('i-1')], pub: [...published('i-1'), txt('db', own('i-gone')), rec('db', 'A', '1.1.1.1')], params: params('i-1'), lookedUp: new Set(['i-gone']) });
    expect(changes(p)).toEqual([]);
  });

  it('ignores TXT records that are not ownership records in a full reconcile', () => {
    const p = run({ scope: 'all', pub: [{ name: 'example.com.', type: 'TXT', ttl: 300, values: [own('i-gone')] }, { name: '_ec2ip.example.com.', type: 'TXT', ttl: 300, values: [own('i-gone')] }], lookedUp: new Set(['i-gone']) });
    expect(p).toStrictEqual({ zones: [{ zone: PUB, groups: [] }], parameters: [], refusals: [] });
  });
});

describe('refusals', () => {
  it('refuses an invalid name of a living target only', () => {
    const bad = (id: string, state: Instance['state']) => instance(id, { nameTag: 'bad_name', state });
    const p = run({ targets: [bad('i-1', 'running'), bad('i-2', 'terminated')], others: [bad('i-3', 'running')] });
    expect(p.refusals.map((r) => `${r.kind} ${r.instanceId}`)).toEqual(['invalid-name i-1']);
  });

  it('refuses a name too long for the configured zone', () => {
    const long = ['a'.repeat(63), 'a'.repeat(63), 'a'.repeat(63), 'a'.repeat(253 - 7 - 1 - 11 - 3 * 64 + 1)].join('.');
    const p = run({ targets: [instance('i-1', { nameTag: long })] });
    expect(p.refusals.map((r) => r.kind)).toEqual(['invalid-name']);
    expect(changes(p)).toEqual([]);
  });

  it('takes a TXT with two values as someone else’s', () => {
    const p = run({ targets: [instance('i-1')], pub: [txt('web', own('i-1'), '"other"')] });
    expect(changes(p).filter((c) => !c.startsWith('ssm'))).toEqual([]);
    expect(p.refusals).toStrictEqual([{ kind: 'foreign', instanceId: 'i-1', name: 'web', where: 'example.com', reason: `the name belongs to someone else in zone example.com (ZPUB): _ec2ip.web.example.com. holds ${own('i-1')} "other", which is not this stack's (owner ec2ip, region us-east-1)` }]);
  });

  it.each([
    ['another record type at the ownership name', [{ name: '_ec2ip.web.example.com.', type: 'A', ttl: 60, values: ['10.1.1.1'] }], '_ec2ip.web.example.com. has a A record that ec2ip did not write'],
    ['records without ownership', [rec('web', 'A', '1.1.1.1'), rec('web', 'MX', '10 mail')], 'web.example.com. has A, MX records without an ec2ip ownership record'],
    ['an alias A record', [txt('web', own('i-1')), { ...rec('web', 'A', 'd111.cloudfront.net.'), alias: true }], 'web.example.com. is an alias record, which ec2ip never writes'],
    ['an alias AAAA record', [txt('web', own('i-1')), { ...rec('web', 'AAAA', 'd111.cloudfront.net.'), alias: true }], 'web.example.com. is an alias record, which ec2ip never writes'],
  ])('refuses a name with %s, saying so', (_case, records, why) => {
    const p = run({ targets: [instance('i-1')], pub: records as RecordSet[] });
    expect(changes(p).filter((c) => !c.startsWith('ssm'))).toEqual([]);
    expect(p.refusals.map((r) => r.reason)).toEqual([`the name belongs to someone else in zone example.com (ZPUB): ${why}`]);
  });

  it('manages a name beside an alias of another type', () => {
    const p = run({ targets: [instance('i-1', { publicIp: '4.4.4.4' })], pub: [...published('i-1'), { ...rec('web', 'CNAME', 'x.'), alias: true }] });
    expect(p.refusals).toEqual([]);
    expect(changes(p)).toContain('CREATE A web.example.com. 4.4.4.4');
  });

  it('says whether the holder owns the name or was launched first, in the zone and in SSM', () => {
    const owner = instance('i-2', { launchTime: '2026-02-01T00:00:00.000Z' });
    const p = run({ targets: [instance('i-1'), owner], pub: published('i-2'), params: params('i-2') });
    expect(p.refusals.map((r) => `${r.where}: ${r.reason}`)).toEqual([
      'example.com: web.example.com. goes to i-2, which owns it',
      'SSM: /ec2ip/web/ goes to i-2, which owns it',
    ]);
    const free = run({ targets: [instance('i-1'), instance('i-2', { launchTime: '2026-02-01T00:00:00.000Z' })] });
    expect(free.refusals.map((r) => `${r.instanceId} ${r.where}: ${r.reason}`)).toEqual([
      'i-2 example.com: web.example.com. goes to i-1, which was launched first',
      'i-2 SSM: /ec2ip/web/ goes to i-1, which was launched first',
    ]);
  });

  it('says the owner still runs, in the zone and in SSM', () => {
    const p = run({ targets: [instance('i-1')], others: [instance('i-2')], pub: published('i-2'), params: params('i-2') });
    expect(p.refusals.map((r) => `${r.kind} ${r.where}: ${r.reason}`)).toEqual([
      'conflict example.com: web.example.com. is owned by i-2, which still runs with this name',
      'conflict SSM: /ec2ip/web/ is owned by i-2, which still runs with this name',
    ]);
    expect(changes(p)).toEqual([]);
  });

  it('names accounts and regions in a hub’s refusals', () => {
    const a1 = instance('i-a1', { account: A, region: 'us-east-1' });
    const b1 = instance('i-b1', { account: '222222222222', region: 'eu-west-1', launchTime: '2026-02-01T00:00:00.000Z' });
    const p = plan({ config: hubConfig, zones: [{ zone: PUB, records: [txt('web', hubOwn('i-a1'))] }], parameters: new Map(), targets: [b1], others: [a1], scope: 'targets', part: 'zones' });
    expect(p.refusals).toEqual([{ kind: 'conflict', instanceId: 'i-b1', account: '222222222222', region: 'eu-west-1', name: 'web', where: 'example.com', reason: `web.example.com. is owned by i-a1 (account ${A}, us-east-1), which still runs with this name; i-b1 (account 222222222222, eu-west-1) is refused` }]);
    const ssm = plan({ config: hubConfig, zones: [], parameters: new Map([['/ec2ip/web/instance-id', 'i-a1']]), targets: [{ ...b1, account: A, region: 'us-east-1' }], others: [a1], scope: 'targets', part: 'parameters', spoke: { account: A, region: 'us-east-1' } });
    expect(ssm.refusals.map((r) => `${r.where}: ${r.reason}`)).toEqual([`SSM of account ${A} in us-east-1: /ec2ip/web/ is owned by i-a1 (account ${A}, us-east-1), which still runs with this name; i-b1 (account ${A}, us-east-1) is refused`]);
  });

  it('keeps a hub’s parameters under the plain name whatever the template', () => {
    const cfg: Config = { ...hubConfig, hub: { ...(hubConfig.hub as NonNullable<Config['hub']>), nameTemplate: '{name}.{region}' } };
    const a1 = instance('i-a1', { account: A, region: 'us-east-1' });
    const p = plan({ config: cfg, zones: [], parameters: new Map(), targets: [a1], others: [], scope: 'targets', part: 'parameters', spoke: { account: A, region: 'us-east-1' } });
    expect(changes(p)).toEqual(['ssm create /ec2ip/web/instance-id=i-a1', 'ssm create /ec2ip/web/private-ip=10.0.0.3', 'ssm create /ec2ip/web/public-ip=3.3.3.3']);
  });
});

describe('groups, takeovers and record values', () => {
  it('counts the writes of a plan', () => {
    expect(changeCount(run({ targets: [instance('i-1')] }))).toBe(5);
    expect(changeCount(run({ targets: [instance('i-1', { publicIp: '4.4.4.4' })], pub: published('i-1'), params: params('i-1') }))).toBe(3);
    expect(changeCount(run({}))).toBe(0);
  });

  it('claims an ownerless folder for the claimant alone, keeping leaves it does not write', () => {
    const p = run({ targets: [instance('i-1')], pub: published('i-1'), params: [['/ec2ip/web/fqdn', 'web.example.com'], ['/ec2ip/web/public-ip', '9.9.9.9']] });
    expect(changes(p)).toEqual(['ssm create /ec2ip/web/instance-id=i-1', 'ssm create /ec2ip/web/private-ip=10.0.0.3', 'ssm put /ec2ip/web/public-ip=3.3.3.3']);
    expect(p.parameters.map((c) => c.instanceIds)).toEqual([['i-1'], ['i-1'], ['i-1']]);
  });

  it('plans no group when everything is current, and names the reason of each group', () => {
    expect(run({ targets: [instance('i-1')], pub: published('i-1'), params: params('i-1') }).zones[0]?.groups).toEqual([]);
    expect(groups(run({ targets: [instance('i-1')] }))).toEqual([{ name: 'web', reason: 'claim', instanceIds: ['i-1'] }]);
    expect(groups(run({ targets: [instance('i-1', { publicIp: '4.4.4.4' })], pub: published('i-1') }))).toEqual([{ name: 'web', reason: 'update', instanceIds: ['i-1'] }]);
  });

  it('takes over a name from a terminated owner: both ids, no kept public parts, extra leaves deleted', () => {
    const heir = instance('i-2', { state: 'stopped', publicIp: undefined, launchTime: '2026-02-01T00:00:00.000Z' });
    const p = run({ config: { ...config, onStop: 'keep' }, targets: [heir], others: [instance('i-1', { state: 'terminated', publicIp: undefined })], pub: published('i-1'), params: [...params('i-1'), ['/ec2ip/web/fqdn', 'web.example.com']] });
    expect(groups(p)).toEqual([{ name: 'web', reason: 'takeover', instanceIds: ['i-2', 'i-1'] }]);
    expect(changes(p)).toEqual([
      `DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`,
      `CREATE TXT _ec2ip.web.example.com. ${own('i-2')}`,
      'DELETE A web.example.com. 3.3.3.3',
      'ssm put /ec2ip/web/instance-id=i-2',
      'ssm delete /ec2ip/web/public-ip',
      'ssm delete /ec2ip/web/fqdn',
    ]);
    expect(p.parameters.map((c) => c.instanceIds)).toEqual([['i-2', 'i-1'], ['i-2', 'i-1'], ['i-2', 'i-1']]);
  });

  it('deletes only the A and AAAA records at a released name', () => {
    const p = run({ scope: 'all', pub: [...published('i-gone'), rec('web', 'MX', '10 mail.example.com.'), rec('web', 'AAAA', '2001:db8::1')], lookedUp: new Set(['i-gone']) });
    expect(changes(p)).toEqual(['DELETE A web.example.com. 3.3.3.3', 'DELETE AAAA web.example.com. 2001:db8::1', `DELETE TXT _ec2ip.web.example.com. ${own('i-gone')}`]);
  });

  it('compares record values as sets', () => {
    const two = instance('i-1', { ipv6: ['2001:db8::2', '2001:db8::1'] });
    const zone = (...v: string[]) => changes(run({ targets: [two], pub: [...published('i-1'), rec('web', 'AAAA', ...v)], params: [...params('i-1'), ['/ec2ip/web/ipv6', '2001:db8::1,2001:db8::2']] }));
    expect(zone('2001:db8::2', '2001:db8::1')).toEqual([]);
    expect(zone('2001:db8::1')).toEqual(['DELETE AAAA web.example.com. 2001:db8::1', 'CREATE AAAA web.example.com. 2001:db8::1 2001:db8::2']);
    expect(zone('2001:db8::1', '2001:db8::3')).toEqual(['DELETE AAAA web.example.com. 2001:db8::1 2001:db8::3', 'CREATE AAAA web.example.com. 2001:db8::1 2001:db8::2']);
  });
});

describe('desired state by instance state', () => {
  it('releases everything of a shutting-down instance, as of a terminated one', () => {
    const p = run({ targets: [instance('i-1', { state: 'shutting-down', publicIp: undefined })], pub: published('i-1'), params: params('i-1') });
    expect(changes(p)).toEqual([
      'DELETE A web.example.com. 3.3.3.3',
      `DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`,
      'ssm delete /ec2ip/web/instance-id',
      'ssm delete /ec2ip/web/private-ip',
      'ssm delete /ec2ip/web/public-ip',
    ]);
  });

  it('treats a stopping instance as stopped: its public parts go, even if it still shows an address', () => {
    const p = run({ targets: [instance('i-1', { state: 'stopping' })], pub: published('i-1'), params: params('i-1') });
    expect(changes(p)).toEqual(['DELETE A web.example.com. 3.3.3.3', 'ssm delete /ec2ip/web/public-ip']);
  });

  it('publishes IPv6 addresses sorted, and as one comma-separated parameter', () => {
    const p = run({ targets: [instance('i-1', { ipv6: ['2001:db8::2', '2001:db8::1'] })] });
    expect(changes(p)).toEqual([
      `CREATE TXT _ec2ip.web.example.com. ${own('i-1')}`,
      'CREATE A web.example.com. 3.3.3.3',
      'CREATE AAAA web.example.com. 2001:db8::1 2001:db8::2',
      'ssm create /ec2ip/web/instance-id=i-1',
      'ssm create /ec2ip/web/private-ip=10.0.0.3',
      'ssm create /ec2ip/web/public-ip=3.3.3.3',
      'ssm create /ec2ip/web/ipv6=2001:db8::1,2001:db8::2',
    ]);
  });

  it('keeps the IPv6 parameter of a stopped instance with ON_STOP=keep, and deletes it otherwise', () => {
    const stopped = instance('i-1', { state: 'stopped', publicIp: undefined });
    const withV6: [string, string][] = [...params('i-1'), ['/ec2ip/web/ipv6', '2001:db8::1']];
    expect(changes(run({ config: { ...config, onStop: 'keep' }, targets: [stopped], pub: published('i-1'), params: withV6 }))).toEqual([]);
    expect(changes(run({ targets: [stopped], pub: published('i-1'), params: withV6 }))).toEqual(['DELETE A web.example.com. 3.3.3.3', 'ssm delete /ec2ip/web/public-ip', 'ssm delete /ec2ip/web/ipv6']);
  });
});
