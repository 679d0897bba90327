/**
 * Names per member account (SPOKE_NAMES), as planner tables: without the setting any member
 * account of a hub may claim any free name in the shared zone (`vpn`, `www`, `login`) by
 * tagging an instance first; with it, each account claims only the names of its rule.
 */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import { checkSpokeName, nameMatches } from '../../functions/core/names.js';
import { plan, type Plan, type PlanInput } from '../../functions/core/plan.js';
import type { Config, Instance, RecordSet } from '../../functions/core/types.js';

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const RULES = new Map([
  [A, ['*.dev']],
  [B, ['web', 'api']],
]);
const base: Config = { region: 'eu-central-1', hostedZoneId: 'ZPUB', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
const hub = (spokeNames?: Map<string, string[]>): Config => ({ ...base, hub: { roleName: 'ec2ip-spoke', externalId: 'xid', nameTemplate: '{name}', partition: 'aws', ...(spokeNames ? { spokeNames } : {}) } });
const PUB = { id: 'ZPUB', kind: 'public', name: 'example.com' } as const;

function instance(id: string, account: string, nameTag: string, over: Partial<Instance> = {}): Instance {
  return { id, account, region: 'us-east-1', state: 'running', nameTag, launchTime: '2026-01-01T00:00:00.000Z', publicIp: '3.3.3.3', privateIp: '10.0.0.3', ipv6: [], ...over };
}
const own = (id: string, account: string) => `"heritage=ec2ip,owner=ec2ip,region=us-east-1,account=${account},instance=${id}"`;
const txt = (name: string, value: string): RecordSet => ({ name: `_ec2ip.${name}.example.com.`, type: 'TXT', ttl: 60, values: [value] });
const a = (name: string, ip: string): RecordSet => ({ name: `${name}.example.com.`, type: 'A', ttl: 60, values: [ip] });

function run(config: Config, over: Partial<PlanInput> & { pub?: RecordSet[] }): Plan {
  const { pub, ...rest } = over;
  return plan({ config, zones: [{ zone: PUB, records: pub ?? [] }], parameters: new Map(), targets: [], others: [], scope: 'targets', part: 'zones', ...rest });
}
const changes = (p: Plan) => p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes.map((c) => `${c.action} ${c.record.type} ${c.record.name}`)));

describe('name patterns of SPOKE_NAMES', () => {
  it.each([
    ['web', 'web', true],
    ['web', 'web.dev', false],
    ['web', 'www', false],
    ['*.dev', 'api.dev', true],
    ['*.dev', 'a.b.dev', true],
    ['*.dev', 'dev', false],
    ['*.dev', 'apidev', false],
    ['*', 'login', true],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(nameMatches(pattern, name)).toBe(expected);
  });

  it('names the account and its rule when it refuses', () => {
    expect(checkSpokeName(RULES, A, 'vpn')).toEqual({ ok: false, reason: expect.stringContaining(`account ${A} may claim only the names of its SPOKE_NAMES rule "${A}:*.dev", and "vpn" is not one of them`) });
    expect(checkSpokeName(RULES, C, 'web')).toEqual({ ok: false, reason: expect.stringContaining(`account ${C} is not in SPOKE_NAMES, so it may claim no name`) });
    expect(checkSpokeName(RULES, B, 'api')).toEqual({ ok: true, name: 'api' });
  });
});

describe('plan (hub) with SPOKE_NAMES', () => {
  it.each([
    { case: 'an account claims a name of its rule', targets: [instance('i-a1', A, 'db.dev')], want: ['CREATE TXT _ec2ip.db.dev.example.com.', 'CREATE A db.dev.example.com.'], refused: [] },
    { case: 'an account claims a listed name', targets: [instance('i-b1', B, 'web')], want: ['CREATE TXT _ec2ip.web.example.com.', 'CREATE A web.example.com.'], refused: [] },
    { case: 'an account is refused a free name outside its rule', targets: [instance('i-a1', A, 'vpn')], want: [], refused: [`i-a1 ${A}`] },
    { case: 'an account SPOKE_NAMES does not list is refused every name', targets: [instance('i-c1', C, 'web')], want: [], refused: [`i-c1 ${C}`] },
    {
      case: 'an earlier launch outside its rule does not take the name from the account it belongs to',
      targets: [instance('i-a1', A, 'web', { launchTime: '2020-01-01T00:00:00.000Z' }), instance('i-b1', B, 'web', { publicIp: '4.4.4.4' })],
      want: ['CREATE TXT _ec2ip.web.example.com.', 'CREATE A web.example.com.'],
      refused: [`i-a1 ${A}`],
    },
  ])('$case', ({ targets, want, refused }) => {
    const p = run(hub(RULES), { targets });
    expect(changes(p)).toEqual(want);
    expect(p.refusals.map((r) => `${r.instanceId} ${r.account}`)).toEqual(refused);
    for (const r of p.refusals) expect(r.reason).toContain(`account ${r.account}`);
    const claims = p.zones.flatMap((z) => z.groups.flatMap((g) => g.changes)).filter((c) => c.record.type === 'TXT').map((c) => c.record.values[0]);
    const winner = targets.find((t) => !refused.includes(`${t.id} ${t.account}`));
    expect(claims).toEqual(winner ? [own(winner.id, winner.account ?? '')] : []);
  });

  it('lets every account claim every free name without the setting (the default)', () => {
    const p = run(hub(), { targets: [instance('i-c1', C, 'vpn')] });
    expect(changes(p)).toEqual(['CREATE TXT _ec2ip.vpn.example.com.', 'CREATE A vpn.example.com.']);
    expect(p.refusals).toEqual([]);
  });

  it('releases a name an account owns once its rule no longer allows it', () => {
    const p = run(hub(RULES), { targets: [instance('i-a1', A, 'vpn')], pub: [txt('vpn', own('i-a1', A)), a('vpn', '3.3.3.3')] });
    expect(changes(p).sort()).toEqual(['DELETE A vpn.example.com.', 'DELETE TXT _ec2ip.vpn.example.com.']);
    expect(p.refusals.map((r) => r.instanceId)).toEqual(['i-a1']);
  });

  it('writes the account\'s own parameters still: they are in its own account, not the shared zone', () => {
    const p = plan({ config: hub(RULES), zones: [{ zone: PUB, records: [] }], parameters: new Map(), targets: [instance('i-a1', A, 'vpn')], others: [], scope: 'targets', part: 'parameters', spoke: { account: A, region: 'us-east-1' } });
    expect(p.parameters.map((c) => c.parameter)).toContain('/ec2ip/vpn/instance-id');
  });
});

describe('SPOKE_NAMES in the configuration', () => {
  const env = (SPOKE_NAMES: string) => ({ AWS_REGION: 'us-east-1', HOSTED_ZONE_ID: 'ZPUB', SPOKE_ROLE_NAME: 'ec2ip-spoke', SPOKE_EXTERNAL_ID: 'xid-123', SPOKES: `${A}:us-east-1`, SPOKE_NAMES });

  it('reads the accounts and their patterns', () => {
    const config = readConfig(env(`${A}:*.dev, ${B}:web|api`));
    expect(config.hub?.spokeNames).toEqual(new Map([[A, ['*.dev']], [B, ['web', 'api']]]));
    expect(readConfig({ ...env(''), SPOKE_NAMES: undefined }).hub?.spokeNames).toBeUndefined();
  });

  it.each([
    ['1111:web', '"1111:web"'],
    [`${A}`, `"${A}"`],
    [`${A}:`, `"${A}:"`],
    [`${A}:web||api`, `"${A}:web||api"`],
    [`${A}:we_b`, '"we_b" is no name pattern'],
    [`${A}:web.*`, '"web.*" is no name pattern'],
    [`${A}:Web`, 'upper-case'],
    [`${A}:web,${A}:api`, `lists account ${A} twice`],
  ])('refuses SPOKE_NAMES=%s, naming the variable and quoting it', (value, says) => {
    expect(() => readConfig(env(value))).toThrow(`SPOKE_NAMES="${value}"`);
    expect(() => readConfig(env(value))).toThrow(says);
  });

  it('refuses it without hub mode', () => {
    expect(() => readConfig({ AWS_REGION: 'us-east-1', HOSTED_ZONE_ID: 'ZPUB', SPOKE_NAMES: `${A}:web` })).toThrow('SPOKE_NAMES is set but SPOKE_ROLE_NAME is not');
  });
});
