/** The planner as tables of current state and instances → changes (no mocks, no AWS). */
import { describe, expect, it } from 'vitest';
import { plan, type Plan, type PlanInput, type ZoneView } from '../../functions/core/plan.js';
import type { Config, Instance, RecordSet } from '../../functions/core/types.js';

const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', privateHostedZoneId: 'ZPRIV', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const PUB = { id: 'ZPUB', kind: 'public', name: 'example.com' } as const;
const PRIV = { id: 'ZPRIV', kind: 'private', name: 'internal.example' } as const;

function instance(id: string, over: Partial<Instance> = {}): Instance {
  return { id, state: 'running', nameTag: 'web', launchTime: '2026-01-01T00:00:00.000Z', publicIp: '3.3.3.3', privateIp: '10.0.0.3', ipv6: [], ...over };
}
const txt = (name: string, zone: string, value: string): RecordSet => ({ name: `_ec2ip.${name}.${zone}.`, type: 'TXT', ttl: 60, values: [value] });
const own = (instanceId: string, owner = 'ec2ip', region = 'us-east-1') => `"heritage=ec2ip,owner=${owner},region=${region},instance=${instanceId}"`;
const a = (name: string, zone: string, ip: string, ttl = 60): RecordSet => ({ name: `${name}.${zone}.`, type: 'A', ttl, values: [ip] });

function run(over: Partial<PlanInput> & { pub?: RecordSet[]; priv?: RecordSet[]; params?: Record<string, string> }): Plan {
  const zones: ZoneView[] = [
    { zone: PUB, records: over.pub ?? [] },
    { zone: PRIV, records: over.priv ?? [] },
  ];
  return plan({ config: over.config ?? config, zones, parameters: new Map(Object.entries(over.params ?? {})), targets: over.targets ?? [], others: over.others ?? [], scope: over.scope ?? 'targets', ...(over.vanished ? { vanished: over.vanished } : {}), ...(over.lookedUp ? { lookedUp: over.lookedUp } : {}), ...(over.waitingForPublicIp ? { waitingForPublicIp: over.waitingForPublicIp } : {}) });
}

/** The plan as short strings, easy to read in a table. */
function summary(p: Plan): string[] {
  return [
    ...p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes.map((c) => `${z.zone.id} ${c.action} ${c.record.type} ${c.record.name} ${c.record.values.join(' ')}`))),
    ...p.parameters.map((c) => `ssm ${c.action} ${c.parameter}${c.value !== undefined ? `=${c.value}` : ''}`),
  ];
}

const i1 = instance('i-1');
const claimAll = [
  `ZPUB CREATE TXT _ec2ip.web.example.com. ${own('i-1')}`,
  'ZPUB CREATE A web.example.com. 3.3.3.3',
  `ZPRIV CREATE TXT _ec2ip.web.internal.example. ${own('i-1')}`,
  'ZPRIV CREATE A web.internal.example. 10.0.0.3',
  'ssm create /ec2ip/web/instance-id=i-1',
  'ssm create /ec2ip/web/private-ip=10.0.0.3',
  'ssm create /ec2ip/web/public-ip=3.3.3.3',
];
const publishedPub = [txt('web', 'example.com', own('i-1')), a('web', 'example.com', '3.3.3.3')];
const publishedPriv = [txt('web', 'internal.example', own('i-1')), a('web', 'internal.example', '10.0.0.3')];
const publishedParams = { '/ec2ip/web/instance-id': 'i-1', '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3' };

describe('plan', () => {
  it.each([
    { case: 'claims a free name with CREATE in both zones and SSM', input: { targets: [i1] }, want: claimAll },
    { case: 'changes nothing when everything is current', input: { targets: [i1], pub: publishedPub, priv: publishedPriv, params: publishedParams }, want: [] },
    {
      case: 'replaces a changed public address by DELETE of the old value and CREATE of the new',
      input: { targets: [instance('i-1', { publicIp: '4.4.4.4' })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: ['ZPUB DELETE A web.example.com. 3.3.3.3', 'ZPUB CREATE A web.example.com. 4.4.4.4', 'ssm put /ec2ip/web/public-ip=4.4.4.4'],
    },
    {
      case: 'rewrites a record whose TTL differs from RECORD_TTL',
      input: { targets: [i1], pub: [publishedPub[0] as RecordSet, a('web', 'example.com', '3.3.3.3', 300)], priv: publishedPriv, params: publishedParams },
      want: ['ZPUB DELETE A web.example.com. 3.3.3.3', 'ZPUB CREATE A web.example.com. 3.3.3.3'],
    },
    {
      case: 'deletes the public record and parameter when the instance stops (ON_STOP=delete)',
      input: { targets: [instance('i-1', { state: 'stopped', publicIp: undefined })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: ['ZPUB DELETE A web.example.com. 3.3.3.3', 'ssm delete /ec2ip/web/public-ip'],
    },
    {
      case: 'keeps the public record and parameter when the instance stops with ON_STOP=keep',
      input: { config: { ...config, onStop: 'keep' as const }, targets: [instance('i-1', { state: 'stopped', publicIp: undefined })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: [],
    },
    {
      case: 'removes everything of a terminated instance, ownership included',
      input: { targets: [instance('i-1', { state: 'terminated', publicIp: undefined })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: [
        'ZPUB DELETE A web.example.com. 3.3.3.3',
        `ZPUB DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`,
        'ZPRIV DELETE A web.internal.example. 10.0.0.3',
        `ZPRIV DELETE TXT _ec2ip.web.internal.example. ${own('i-1')}`,
        'ssm delete /ec2ip/web/instance-id',
        'ssm delete /ec2ip/web/private-ip',
        'ssm delete /ec2ip/web/public-ip',
      ],
    },
    {
      case: 'removes what a vanished instance owned',
      input: { targets: [], vanished: ['i-1'], pub: publishedPub, priv: [], params: { '/ec2ip/web/instance-id': 'i-1' } },
      want: ['ZPUB DELETE A web.example.com. 3.3.3.3', `ZPUB DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`, 'ssm delete /ec2ip/web/instance-id'],
    },
    {
      case: 'releases the old name when the tag changes and claims the new one',
      input: { targets: [instance('i-1', { nameTag: 'api' })], pub: publishedPub, priv: [], params: { '/ec2ip/web/instance-id': 'i-1' } },
      want: [
        `ZPUB CREATE TXT _ec2ip.api.example.com. ${own('i-1')}`,
        'ZPUB CREATE A api.example.com. 3.3.3.3',
        'ZPUB DELETE A web.example.com. 3.3.3.3',
        `ZPUB DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`,
        `ZPRIV CREATE TXT _ec2ip.api.internal.example. ${own('i-1')}`,
        'ZPRIV CREATE A api.internal.example. 10.0.0.3',
        'ssm create /ec2ip/api/instance-id=i-1',
        'ssm create /ec2ip/api/private-ip=10.0.0.3',
        'ssm create /ec2ip/api/public-ip=3.3.3.3',
        'ssm delete /ec2ip/web/instance-id',
      ],
    },
    {
      case: 'leaves the public parts as they are while a running instance waits for its public IP',
      input: { targets: [instance('i-1', { publicIp: undefined })], waitingForPublicIp: new Set(['i-1']), pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: [],
    },
    {
      case: 'removes the public parts of a running instance that has no public IP',
      input: { targets: [instance('i-1', { publicIp: undefined })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: ['ZPUB DELETE A web.example.com. 3.3.3.3', 'ssm delete /ec2ip/web/public-ip'],
    },
    {
      case: 'publishes IPv6 as AAAA in the public zone and an ipv6 parameter',
      input: { targets: [instance('i-1', { ipv6: ['2600:1f18::1'] })], pub: publishedPub, priv: publishedPriv, params: publishedParams },
      want: ['ZPUB CREATE AAAA web.example.com. 2600:1f18::1', 'ssm put /ec2ip/web/ipv6=2600:1f18::1'],
    },
  ])('$case', ({ input, want }) => {
    expect(summary(run(input))).toEqual(want);
  });
});

describe('plan: ownership', () => {
  it('never writes a name that has records but no ownership record', () => {
    const p = run({ targets: [i1], pub: [a('web', 'example.com', '9.9.9.9', 300)] });
    expect(summary(p).filter((s) => s.startsWith('ZPUB'))).toEqual([]);
    expect(p.refusals).toEqual([expect.objectContaining({ kind: 'foreign', instanceId: 'i-1', where: 'example.com' })]);
    // Ownership is per zone: the private zone and SSM are still written.
    expect(summary(p).filter((s) => s.startsWith('ZPRIV'))).toHaveLength(2);
  });

  it.each([
    ['another owner id', own('i-1', 'other-stack')],
    ['the same owner id in another region', own('i-1', 'ec2ip', 'eu-west-1')],
    ['a TXT that is not ec2ip’s', '"v=spf1 -all"'],
  ])('never writes a name whose ownership record names %s', (_case, value) => {
    const p = run({ targets: [i1], pub: [txt('web', 'example.com', value), a('web', 'example.com', '9.9.9.9')] });
    expect(p.zones[0]?.groups).toEqual([]);
    expect(p.refusals[0]).toMatchObject({ kind: 'foreign', where: 'example.com' });
  });

  it('never touches another region’s records even in a full reconcile', () => {
    const foreign = [txt('db', 'example.com', own('i-9', 'ec2ip', 'eu-west-1')), a('db', 'example.com', '8.8.8.8')];
    const p = run({ scope: 'all', targets: [], pub: foreign });
    expect(summary(p)).toEqual([]);
  });

  it('never treats a CNAME at the ownership name as free', () => {
    const p = run({ targets: [i1], pub: [{ name: '_ec2ip.web.example.com.', type: 'CNAME', ttl: 60, values: ['x.example.com'] }] });
    expect(p.zones[0]?.groups).toEqual([]);
    expect(p.refusals[0]).toMatchObject({ kind: 'foreign' });
  });

  it('keeps the name with its owner while the owner lives and refuses the other claimant', () => {
    const owner = instance('i-1', { state: 'stopped', publicIp: undefined, launchTime: '2026-02-01T00:00:00Z' });
    const rival = instance('i-0', { launchTime: '2025-01-01T00:00:00Z', publicIp: '5.5.5.5' });
    const p = run({ targets: [rival], others: [owner], pub: [txt('web', 'example.com', own('i-1'))], priv: [txt('web', 'internal.example', own('i-1'))], params: { '/ec2ip/web/instance-id': 'i-1' } });
    expect(summary(p)).toEqual([]);
    expect(p.refusals.map((r) => [r.kind, r.instanceId, r.where])).toEqual([
      ['conflict', 'i-0', 'example.com'],
      ['conflict', 'i-0', 'internal.example'],
      ['conflict', 'i-0', 'SSM'],
    ]);
  });

  it('gives a free name to the instance launched first, ties to the smaller id', () => {
    const late = instance('i-a', { launchTime: '2026-03-01T00:00:00Z', publicIp: '1.1.1.1' });
    const early = instance('i-b', { launchTime: '2026-01-01T00:00:00Z', publicIp: '2.2.2.2' });
    const p = run({ targets: [late, early] });
    expect(summary(p)).toContain(`ZPUB CREATE TXT _ec2ip.web.example.com. ${own('i-b')}`);
    expect(p.refusals.filter((r) => r.kind === 'conflict').map((r) => r.instanceId)).toEqual(['i-a', 'i-a', 'i-a']);

    const tie = run({ targets: [instance('i-2', { publicIp: '1.1.1.1' }), instance('i-1', { publicIp: '2.2.2.2' })] });
    expect(summary(tie)).toContain(`ZPUB CREATE TXT _ec2ip.web.example.com. ${own('i-1')}`);
  });

  it('gives what is left of a name to the claimant that owns it elsewhere, not to the one launched first', () => {
    // i-late holds both zones; its SSM claim failed, and i-early (launched first) claims the name too.
    const late = instance('i-late', { launchTime: '2026-03-01T00:00:00Z', publicIp: '1.1.1.1', privateIp: '10.0.0.1' });
    const early = instance('i-early', { launchTime: '2026-01-01T00:00:00Z', publicIp: '2.2.2.2', privateIp: '10.0.0.2' });
    const zonesHeld = run({ targets: [late, early], pub: [txt('web', 'example.com', own('i-late')), a('web', 'example.com', '1.1.1.1')], priv: [txt('web', 'internal.example', own('i-late')), a('web', 'internal.example', '10.0.0.1')] });
    expect(summary(zonesHeld)).toEqual(['ssm create /ec2ip/web/instance-id=i-late', 'ssm create /ec2ip/web/private-ip=10.0.0.1', 'ssm create /ec2ip/web/public-ip=1.1.1.1']);
    expect(zonesHeld.refusals.map((r) => [r.kind, r.instanceId, r.where])).toEqual([
      ['conflict', 'i-early', 'example.com'],
      ['conflict', 'i-early', 'internal.example'],
      ['conflict', 'i-early', 'SSM'],
    ]);

    // The other way round: SSM names i-late, the private zone is free: it follows SSM.
    const ssmHeld = run({ targets: [late, early], params: { '/ec2ip/web/instance-id': 'i-late' }, pub: [txt('web', 'example.com', own('i-late'))] });
    expect(summary(ssmHeld)).toContain(`ZPRIV CREATE TXT _ec2ip.web.internal.example. ${own('i-late')}`);
    expect(summary(ssmHeld).some((c) => c.includes('i-early'))).toBe(false);
  });

  it('hands a name to a waiting claimant when the owner terminates, by an atomic swap of the ownership record', () => {
    const dead = instance('i-1', { state: 'terminated', publicIp: undefined });
    const next = instance('i-2', { publicIp: '7.7.7.7', privateIp: '10.0.0.7' });
    const p = run({ targets: [next], others: [dead], lookedUp: new Set(['i-1', 'i-2']), pub: publishedPub, priv: [], params: publishedParams });
    expect(summary(p)).toEqual([
      `ZPUB DELETE TXT _ec2ip.web.example.com. ${own('i-1')}`,
      `ZPUB CREATE TXT _ec2ip.web.example.com. ${own('i-2')}`,
      'ZPUB DELETE A web.example.com. 3.3.3.3',
      'ZPUB CREATE A web.example.com. 7.7.7.7',
      `ZPRIV CREATE TXT _ec2ip.web.internal.example. ${own('i-2')}`,
      'ZPRIV CREATE A web.internal.example. 10.0.0.7',
      'ssm put /ec2ip/web/instance-id=i-2',
      'ssm put /ec2ip/web/private-ip=10.0.0.7',
      'ssm put /ec2ip/web/public-ip=7.7.7.7',
    ]);
    expect(p.zones[0]?.groups[0]).toMatchObject({ reason: 'takeover', instanceIds: ['i-2', 'i-1'] });
  });

  it('treats an owner that DescribeInstances no longer finds as gone', () => {
    const p = run({ targets: [instance('i-2', { publicIp: '7.7.7.7' })], lookedUp: new Set(['i-1', 'i-2']), pub: publishedPub });
    expect(p.zones[0]?.groups[0]?.reason).toBe('takeover');
  });

  it('never takes a name from an owner it did not look up', () => {
    const p = run({ targets: [instance('i-2', { publicIp: '7.7.7.7' })], lookedUp: new Set(['i-2']), pub: publishedPub });
    expect(p.zones[0]?.groups).toEqual([]);
    expect(p.refusals[0]).toMatchObject({ kind: 'conflict', instanceId: 'i-2', reason: expect.stringContaining('owned by i-1') });
  });

  it('refuses an invalid name once, with the reason, and writes nothing for it', () => {
    const p = run({ targets: [instance('i-1', { nameTag: 'a..b' })] });
    expect(summary(p)).toEqual([]);
    expect(p.refusals).toEqual([expect.objectContaining({ kind: 'invalid-name', instanceId: 'i-1', reason: expect.stringContaining('label') })]);
  });

  it('reads an upper-case tag as the same lower-case name', () => {
    const p = run({ targets: [instance('i-1', { nameTag: 'WEB' })], pub: publishedPub, priv: publishedPriv, params: publishedParams });
    expect(summary(p)).toEqual([]);
  });

  it('writes nothing for untagged instances', () => {
    expect(summary(run({ targets: [instance('i-1', { nameTag: undefined })] }))).toEqual([]);
  });

  it('releases names whose owner lost its tag, in a full reconcile', () => {
    const untagged = instance('i-1', { nameTag: undefined });
    const p = run({ scope: 'all', targets: [], others: [untagged], pub: publishedPub, priv: [], params: publishedParams });
    expect(p.zones[0]?.groups.map((g) => g.reason)).toEqual(['release']);
    expect(p.parameters.map((c) => `${c.action} ${c.parameter}`)).toEqual(['delete /ec2ip/web/instance-id', 'delete /ec2ip/web/private-ip', 'delete /ec2ip/web/public-ip']);
  });

  it('writes parameters only under the prefix', () => {
    const p = run({ config: { ...config, prefix: '/team/ec2ip' }, targets: [i1] });
    expect(p.parameters.map((c) => c.parameter)).toEqual(['/team/ec2ip/web/instance-id', '/team/ec2ip/web/private-ip', '/team/ec2ip/web/public-ip']);
  });

  it('claims parameters with create (never overwriting), but overwrites leaves left in an ownerless folder', () => {
    const p = run({ targets: [i1], params: { '/ec2ip/web/public-ip': '9.9.9.9' } });
    expect(p.parameters.map((c) => `${c.action} ${c.parameter}`)).toEqual(['create /ec2ip/web/instance-id', 'create /ec2ip/web/private-ip', 'put /ec2ip/web/public-ip']);
  });
});
