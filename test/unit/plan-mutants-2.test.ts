/**
 * The planner's "owner elsewhere" rule (holderOf/ownersElsewhere): a name unowned in one
 * store goes to the claimant that owns it in another zone or in SSM, and only to that one.
 * Cases `npm run mutate` found open after the rule landed.
 */
import { describe, expect, it } from 'vitest';
import { plan, type Plan, type PlanInput, type ZoneView } from '../../functions/core/plan.js';
import type { Config, Instance, RecordSet } from '../../functions/core/types.js';

const config: Config = { region: 'us-east-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const PUB = { id: 'ZPUB', kind: 'public', name: 'example.com' } as const;

/** Two instances claiming web: i-early launched first, i-late after it. */
const early = (over: Partial<Instance> = {}): Instance => ({ id: 'i-early', state: 'running', nameTag: 'web', launchTime: '2026-01-01T00:00:00.000Z', publicIp: '1.1.1.1', privateIp: '10.0.0.1', ipv6: [], ...over });
const late = (over: Partial<Instance> = {}): Instance => ({ id: 'i-late', state: 'running', nameTag: 'web', launchTime: '2026-01-02T00:00:00.000Z', publicIp: '2.2.2.2', privateIp: '10.0.0.2', ipv6: [], ...over });
const own = (id: string) => `"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=${id}"`;
const txt = (name: string, ...values: string[]): RecordSet => ({ name: `_ec2ip.${name}.example.com.`, type: 'TXT', ttl: 60, values });
const rec = (name: string, type: string, ...values: string[]): RecordSet => ({ name: `${name}.example.com.`, type, ttl: 60, values });

function run(over: Partial<PlanInput> & { pub?: RecordSet[]; params?: [string, string][] }): Plan {
  const { pub, params, ...rest } = over;
  const zones: ZoneView[] = [{ zone: PUB, records: pub ?? [] }];
  return plan({ config, zones, parameters: new Map(params ?? []), targets: [early(), late()], others: [], scope: 'targets', ...rest });
}
/** Who the zone's ownership record of web is created for, if any. */
const zoneHolder = (p: Plan) =>
  p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes.filter((c) => c.action === 'CREATE' && c.record.type === 'TXT' && c.record.name === '_ec2ip.web.example.com.').map((c) => c.record.values.join(' '))));
/** Who the instance-id parameter of web is written for, if anyone. */
const ssmHolder = (p: Plan) => p.parameters.filter((c) => c.parameter === '/ec2ip/web/instance-id' && c.action !== 'delete').map((c) => c.value);

describe('the owner elsewhere', () => {
  it('with no owner anywhere, the first launched claimant gets the name in the zone and in SSM', () => {
    const p = run({});
    expect(zoneHolder(p)).toEqual([own('i-early')]);
    expect(ssmHolder(p)).toEqual(['i-early']);
  });

  it('gives the zone\'s unowned name to the claimant that owns it in SSM, though it launched later', () => {
    const p = run({ params: [['/ec2ip/web/instance-id', 'i-late'], ['/ec2ip/web/public-ip', '2.2.2.2'], ['/ec2ip/web/private-ip', '10.0.0.2']] });
    expect(zoneHolder(p)).toEqual([own('i-late')]);
    expect(ssmHolder(p)).toEqual([]);
    expect(p.refusals.filter((r) => r.instanceId === 'i-late')).toEqual([]);
  });

  it('gives SSM\'s unowned name to the claimant that owns it in the zone, though it launched later', () => {
    const p = run({ pub: [txt('web', own('i-late')), rec('web', 'A', '2.2.2.2')] });
    expect(zoneHolder(p)).toEqual([]);
    expect(ssmHolder(p)).toEqual(['i-late']);
  });

  it('counts only the ownership record of that name: owning another name does not make a claimant the owner', () => {
    const p = run({ pub: [txt('other', own('i-late')), rec('other', 'A', '2.2.2.2')] });
    expect(zoneHolder(p)).toEqual([own('i-early')]);
    expect(ssmHolder(p)).toEqual(['i-early']);
  });

  it('counts only a TXT record at the ownership name, not another type there', () => {
    const p = run({ pub: [{ name: '_ec2ip.web.example.com.', type: 'SPF', ttl: 60, values: [own('i-late')] }] });
    expect(ssmHolder(p)).toEqual(['i-early']);
  });

  it('a zone\'s owner that lives and claims the name keeps it there, even when another claimant launched earlier owns it in SSM', () => {
    const p = run({ pub: [txt('web', own('i-late')), rec('web', 'A', '2.2.2.2')], params: [['/ec2ip/web/instance-id', 'i-early'], ['/ec2ip/web/public-ip', '1.1.1.1'], ['/ec2ip/web/private-ip', '10.0.0.1']] });
    expect(p.zones.flatMap((z) => z.groups)).toEqual([]);
    expect(p.parameters).toEqual([]);
  });
});

describe('the reason a name is foreign', () => {
  it('quotes the ownership record that is not this stack\'s and says whose records are', () => {
    const other = `"heritage=ec2ip,owner=other-stack,region=us-east-1,instance=i-x"`;
    const p = run({ targets: [early()], pub: [txt('web', other), rec('web', 'A', '9.9.9.9')] });
    expect(p.refusals.filter((r) => r.where === 'example.com').map((r) => `${r.kind} ${r.instanceId} ${r.reason}`)).toEqual([
      `foreign i-early the name belongs to someone else in zone example.com (ZPUB): _ec2ip.web.example.com. holds ${other}, which is not this stack's (owner ec2ip, region us-east-1)`,
    ]);
  });
});

describe('the reason a name is foreign, in a hub', () => {
  it('says a hub\'s records name an account when the ownership record is a single-account stack\'s', () => {
    const hubConfig: Config = { ...config, region: 'eu-central-1', hub: { roleName: 'r', externalId: 'xid', nameTemplate: '{name}', partition: 'aws' } };
    const single = own('i-x');
    const target = early({ account: '111111111111', region: 'us-east-1' });
    const p = plan({ config: hubConfig, zones: [{ zone: PUB, records: [txt('web', single), rec('web', 'A', '9.9.9.9')] }], parameters: new Map(), targets: [target], others: [], scope: 'targets', part: 'zones' });
    expect(p.refusals.map((r) => `${r.kind} ${r.instanceId} ${r.reason}`)).toEqual([
      `foreign i-early the name belongs to someone else in zone example.com (ZPUB): _ec2ip.web.example.com. holds ${single}, which is not this stack's (owner ec2ip, a hub: its records name an account)`,
    ]);
  });
});
