/**
 * The planner in hub mode, as tables: one hub writes the zones for instances of many accounts
 * and regions. Ownership records name the account; every rule of "Ownership" holds across
 * accounts, and nothing another account, hub or region owns is ever taken on a guess.
 */
import { describe, expect, it } from 'vitest';
import { plan, type Plan, type PlanInput, type ZoneView } from '../../functions/core/plan.js';
import { formatOwnership, instanceKey, parseInstanceKey, parseOwnership } from '../../functions/core/ownership.js';
import { applyNameTemplate, checkTemplateName, templateProblem } from '../../functions/core/names.js';
import type { Config, Instance, RecordSet } from '../../functions/core/types.js';

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const single: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const hub: Config = { ...single, region: 'eu-central-1', hub: { roleName: 'ec2ip-spoke', externalId: 'xid', nameTemplate: '{name}', partition: 'aws' } };
const PUB = { id: 'ZPUB', kind: 'public', name: 'example.com' } as const;

function instance(id: string, account: string, region: string, over: Partial<Instance> = {}): Instance {
  return { id, account, region, state: 'running', nameTag: 'web', launchTime: '2026-01-01T00:00:00.000Z', publicIp: '3.3.3.3', privateIp: '10.0.0.3', ipv6: [], ...over };
}
const txt = (name: string, value: string): RecordSet => ({ name: `_ec2ip.${name}.example.com.`, type: 'TXT', ttl: 60, values: [value] });
const a = (name: string, ip: string): RecordSet => ({ name: `${name}.example.com.`, type: 'A', ttl: 60, values: [ip] });
const hubOwn = (instanceId: string, account: string, region = 'us-east-1', owner = 'ec2ip') => `"heritage=ec2ip,owner=${owner},region=${region},account=${account},instance=${instanceId}"`;
const singleOwn = (instanceId: string, region = 'us-east-1') => `"heritage=ec2ip,owner=ec2ip,region=${region},instance=${instanceId}"`;

function run(over: Partial<PlanInput> & { pub?: RecordSet[]; params?: Record<string, string> }): Plan {
  const zones: ZoneView[] = [{ zone: PUB, records: over.pub ?? [] }];
  const { pub: _pub, params, ...rest } = over;
  return plan({ config: hub, zones, parameters: new Map(Object.entries(params ?? {})), targets: [], others: [], scope: 'targets', part: 'zones', ...rest });
}

function summary(p: Plan): string[] {
  return [
    ...p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes.map((c) => `${c.action} ${c.record.type} ${c.record.name} ${c.record.values.join(' ')}`))),
    ...p.parameters.map((c) => `ssm ${c.action} ${c.parameter}${c.value !== undefined ? `=${c.value}` : ''}`),
  ];
}

const a1 = instance('i-a1', A, 'us-east-1');
const b1 = instance('i-b1', B, 'us-east-1', { launchTime: '2025-06-01T00:00:00.000Z', publicIp: '4.4.4.4' });
const ownedByA = [txt('web', hubOwn('i-a1', A)), a('web', '3.3.3.3')];

describe('the ownership record in hub mode', () => {
  it('keeps the single-account format byte for byte when there is no account', () => {
    expect(formatOwnership({ owner: 'ec2ip', region: 'us-east-1', instance: 'i-1' })).toBe('"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=i-1"');
  });

  it('names the account in a hub record, and reads both forms back', () => {
    const value = formatOwnership({ owner: 'hub', region: 'eu-west-1', account: A, instance: 'i-1' });
    expect(value).toBe(`"heritage=ec2ip,owner=hub,region=eu-west-1,account=${A},instance=i-1"`);
    expect(parseOwnership(value)).toEqual({ owner: 'hub', region: 'eu-west-1', account: A, instance: 'i-1' });
    expect(parseOwnership(singleOwn('i-1'))).toEqual({ owner: 'ec2ip', region: 'us-east-1', instance: 'i-1' });
  });

  it.each(['', '12345', 'abcdefabcdef', '1111111111111'])('refuses a record whose account is %j', (account) => {
    expect(parseOwnership(`"heritage=ec2ip,owner=ec2ip,region=us-east-1,account=${account},instance=i-1"`)).toBeUndefined();
  });

  it('keys instances by account, region and id in a hub, by id alone otherwise', () => {
    expect(instanceKey(a1)).toBe(`${A}/us-east-1/i-a1`);
    expect(instanceKey({ id: 'i-1' })).toBe('i-1');
    expect(parseInstanceKey(`${A}/us-east-1/i-a1`)).toEqual({ id: 'i-a1', account: A, region: 'us-east-1' });
  });
});

describe('plan (hub)', () => {
  it.each([
    {
      case: 'claims a free name with a TXT naming the account and region',
      input: { targets: [a1] },
      want: [`CREATE TXT _ec2ip.web.example.com. ${hubOwn('i-a1', A)}`, 'CREATE A web.example.com. 3.3.3.3'],
    },
    {
      case: 'gives a name wanted in two accounts to the earlier launch when neither owns it',
      input: { targets: [a1, b1] },
      want: [`CREATE TXT _ec2ip.web.example.com. ${hubOwn('i-b1', B)}`, 'CREATE A web.example.com. 4.4.4.4'],
    },
    {
      case: 'lets the owner in one account keep the name against an earlier launch in another',
      input: { targets: [a1, b1], pub: ownedByA },
      want: [],
    },
    {
      case: 'never takes a name whose owner is in an account it has not read (an unreachable spoke)',
      input: { targets: [b1], pub: ownedByA },
      want: [],
    },
    {
      case: 'never takes a name whose owner is in another region of the same account it has not read',
      input: { targets: [instance('i-a2', A, 'eu-west-1', { launchTime: '2020-01-01T00:00:00.000Z' })], pub: ownedByA },
      want: [],
    },
    {
      case: 'never deletes another account\'s record for an event naming its instance id from a different account',
      input: { targets: [], vanished: [`${B}/us-east-1/i-a1`], lookedUp: new Set([`${B}/us-east-1/i-a1`]), pub: ownedByA },
      want: [],
    },
    {
      case: 'hands the name over when the owner in one account has terminated and another account claims it',
      input: { targets: [b1], others: [instance('i-a1', A, 'us-east-1', { state: 'terminated' })], lookedUp: new Set([`${A}/us-east-1/i-a1`]), pub: ownedByA },
      want: [
        `DELETE TXT _ec2ip.web.example.com. ${hubOwn('i-a1', A)}`,
        `CREATE TXT _ec2ip.web.example.com. ${hubOwn('i-b1', B)}`,
        'DELETE A web.example.com. 3.3.3.3',
        'CREATE A web.example.com. 4.4.4.4',
      ],
    },
    {
      case: 'releases a terminated owner\'s name in a reconcile once its account was read',
      input: { scope: 'all' as const, targets: [instance('i-a1', A, 'us-east-1', { state: 'terminated' })], pub: ownedByA },
      want: ['DELETE A web.example.com. 3.3.3.3', `DELETE TXT _ec2ip.web.example.com. ${hubOwn('i-a1', A)}`],
    },
    {
      case: 'keeps in a reconcile every record of an account it could not read',
      input: { scope: 'all' as const, targets: [instance('i-b2', B, 'us-east-1', { nameTag: 'db' })], pub: [...ownedByA, txt('api', hubOwn('i-c1', C, 'ap-south-1')), a('api', '5.5.5.5')] },
      want: [`CREATE TXT _ec2ip.db.example.com. ${hubOwn('i-b2', B)}`, 'CREATE A db.example.com. 3.3.3.3'],
    },
    {
      case: 'treats a single-account stack\'s record of the same owner id as someone else\'s',
      input: { scope: 'all' as const, targets: [a1], pub: [txt('web', singleOwn('i-x')), a('web', '9.9.9.9')] },
      want: [],
    },
    {
      case: 'treats another hub\'s record as someone else\'s',
      input: { scope: 'all' as const, targets: [a1], pub: [txt('web', hubOwn('i-x', A, 'us-east-1', 'other-hub')), a('web', '9.9.9.9')] },
      want: [],
    },
  ])('$case', ({ input, want }) => {
    expect(summary(run(input))).toEqual(want);
  });

  it('names both accounts when it refuses the later launch', () => {
    const p = run({ targets: [a1, b1] });
    expect(p.refusals).toEqual([
      expect.objectContaining({ kind: 'conflict', instanceId: 'i-a1', account: A, region: 'us-east-1', where: 'example.com' }),
    ]);
    expect(p.refusals[0]?.reason).toContain(`i-b1 (account ${B}, us-east-1)`);
    expect(p.refusals[0]?.reason).toContain(`i-a1 (account ${A}, us-east-1) is refused`);
  });

  it('names both accounts when the owner keeps the name', () => {
    const p = run({ targets: [b1], pub: ownedByA });
    expect(p.refusals).toHaveLength(1);
    expect(p.refusals[0]).toMatchObject({ kind: 'conflict', instanceId: 'i-b1', account: B });
    expect(p.refusals[0]?.reason).toBe(`web.example.com. is owned by i-a1 (account ${A}, us-east-1), which still runs with this name; i-b1 (account ${B}, us-east-1) is refused`);
  });

  it('refuses a single-account stack\'s record as foreign, naming it', () => {
    const p = run({ targets: [a1], pub: [txt('web', singleOwn('i-x'))] });
    expect(p.refusals[0]).toMatchObject({ kind: 'foreign', instanceId: 'i-a1', account: A });
  });

  it('plans no parameters in the zones part, and no records in the parameters part', () => {
    expect(run({ targets: [a1] }).parameters).toEqual([]);
    const p = run({ targets: [a1], part: 'parameters', spoke: { account: A, region: 'us-east-1' } });
    expect(p.zones.flatMap((z) => z.groups)).toEqual([]);
    expect(summary(p)).toEqual(['ssm create /ec2ip/web/instance-id=i-a1', 'ssm create /ec2ip/web/private-ip=10.0.0.3', 'ssm create /ec2ip/web/public-ip=3.3.3.3']);
  });

  it('decides parameters per spoke: each account keeps its own folder for a name', () => {
    // The DNS name goes to one account; each account's parameters live in its own SSM.
    const params = { '/ec2ip/web/instance-id': 'i-a1', '/ec2ip/web/private-ip': '10.0.0.3', '/ec2ip/web/public-ip': '3.3.3.3' };
    expect(summary(run({ targets: [a1], part: 'parameters', spoke: { account: A, region: 'us-east-1' }, params }))).toEqual([]);
    expect(summary(run({ targets: [a1], part: 'parameters', spoke: { account: A, region: 'us-east-1' }, params: { ...params, '/ec2ip/web/public-ip': '1.1.1.1' } }))).toEqual(['ssm put /ec2ip/web/public-ip=3.3.3.3']);
  });

  it('releases a spoke\'s parameters of a vanished owner of that spoke only', () => {
    const params = { '/ec2ip/web/instance-id': 'i-a1' };
    const spoke = { account: A, region: 'us-east-1' };
    expect(summary(run({ part: 'parameters', spoke, params, vanished: [`${A}/us-east-1/i-a1`] }))).toEqual(['ssm delete /ec2ip/web/instance-id']);
    expect(summary(run({ part: 'parameters', spoke, params, vanished: [`${B}/us-east-1/i-a1`] }))).toEqual([]);
  });

  it('gives names per region with the template {name}.{region}', () => {
    const config = { ...hub, hub: { ...(hub.hub as NonNullable<Config['hub']>), nameTemplate: '{name}.{region}' } };
    const p = run({ config, targets: [a1, instance('i-a2', A, 'eu-west-1', { publicIp: '6.6.6.6' })] });
    expect(summary(p)).toEqual([
      `CREATE TXT _ec2ip.web.eu-west-1.example.com. ${hubOwn('i-a2', A, 'eu-west-1')}`,
      'CREATE A web.eu-west-1.example.com. 6.6.6.6',
      `CREATE TXT _ec2ip.web.us-east-1.example.com. ${hubOwn('i-a1', A)}`,
      'CREATE A web.us-east-1.example.com. 3.3.3.3',
    ]);
    expect(p.refusals).toEqual([]);
  });
});

describe('plan (single account) beside a hub', () => {
  it('treats a hub\'s record of the same owner id and region as someone else\'s, and its reconcile deletes nothing', () => {
    const p = plan({
      config: single,
      zones: [{ zone: PUB, records: [txt('web', hubOwn('i-a1', A)), a('web', '3.3.3.3')] }],
      parameters: new Map(),
      targets: [],
      scope: 'all',
    });
    expect(summary(p)).toEqual([]);
    const claim = plan({ config: single, zones: [{ zone: PUB, records: [txt('web', hubOwn('i-a1', A))] }], parameters: new Map(), targets: [{ id: 'i-1', state: 'running', nameTag: 'web', ipv6: [] }], scope: 'targets' });
    expect(claim.refusals[0]).toMatchObject({ kind: 'foreign', instanceId: 'i-1' });
    expect(summary(claim).filter((c) => !c.startsWith('ssm'))).toEqual([]);
  });
});

describe('name templates', () => {
  it.each([
    ['{name}', 'web'],
    ['{name}.{region}', 'web.us-east-1'],
    ['{name}.{account}', 'web.111111111111'],
    ['{name}-{account}.{region}', 'web-111111111111.us-east-1'],
    ['{name}.{account-alias}', 'web.acme-prod'],
  ])('%s gives %s', (template, want) => {
    expect(templateProblem(template)).toBeUndefined();
    expect(applyNameTemplate(template, 'web', { account: A, accountAlias: 'acme-prod', region: 'us-east-1' })).toBe(want);
  });

  it('refuses a name under {account-alias} for an account without an alias, saying how to set one', () => {
    const check = checkTemplateName('{name}.{account-alias}', 'web', { account: A, region: 'us-east-1' }, ['example.com']);
    expect(check).toEqual({ ok: false, reason: expect.stringContaining(`account ${A} has none: set one there (aws iam create-account-alias --account-alias NAME) or use {account}`) });
    expect(checkTemplateName('{name}.{account-alias}', 'web', { account: A, accountAlias: 'acme-prod', region: 'us-east-1' }, ['example.com'])).toEqual({ ok: true, name: 'web.acme-prod' });
  });

  it.each([
    ['{region}', /exactly once/],
    ['{name}.{name}', /exactly once/],
    ['{name}.{account-name}', /\{account-name\}/],
    ['{name}..{region}', /label/],
    ['{name}_x', /label/],
    ['{name}.{region', /brace/],
  ])('refuses %s', (template, why) => {
    expect(templateProblem(template)).toMatch(why);
  });
});
