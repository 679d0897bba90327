/**
 * infra/hub.yaml and infra/spoke.yaml: cfn-lint clean, no write action on "*", the spoke
 * role trusts only the hub's function role and only with the external id, the spoke
 * forwards both event kinds to the hub's bus, the bus admits the organization (or the
 * listed accounts) only, and the hub keeps the single-account template's queues, function
 * and alarms (a drift guard: the hub template is the single-account one plus the hub parts).
 * The last block feeds each check a broken copy and expects it to fail.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
type Obj = Record<string, unknown>;

const INTRINSICS = ['Ref', 'Condition', 'GetAtt', 'If', 'Join', 'Sub', 'Equals', 'Not', 'And', 'Or', 'Select', 'Split'];
const TAGS: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (s: string) => ({ [key]: name === 'GetAtt' ? s.split(/\.(.*)/s).slice(0, 2) : s }) } as ScalarTag,
    { tag: `!${name}`, collection: 'seq', resolve: (c) => ({ [key]: c.toJSON() }) } as CollectionTag,
    { tag: `!${name}`, collection: 'map', resolve: (c) => ({ [key]: c.toJSON() }) } as CollectionTag,
  ];
});

const load = (path: string): Obj => parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), { customTags: TAGS, uniqueKeys: true }) as Obj;
const resources = (t: Obj) => t.Resources as Record<string, { Type: string; Condition?: string; Properties: Obj }>;
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

interface Statement {
  where: string;
  effect: unknown;
  actions: string[];
  resources: unknown[];
  condition: unknown;
}

/** Every statement of every identity policy of the template (inline role policies and AWS::IAM::Policy). */
function statements(t: Obj): Statement[] {
  const out: Statement[] = [];
  const take = (where: string, doc: unknown) => {
    for (const [i, s] of list((doc as Obj | undefined)?.Statement).entries()) {
      const st = s as Obj;
      out.push({ where: `${where}[${i}]`, effect: st.Effect, actions: list(st.Action).map(String), resources: list(st.Resource), condition: st.Condition });
    }
  };
  for (const [id, r] of Object.entries(resources(t))) {
    if (r.Type === 'AWS::IAM::Role') for (const p of list(r.Properties.Policies)) take(`${id}.${String((p as Obj).PolicyName)}`, (p as Obj).PolicyDocument);
    if (r.Type === 'AWS::IAM::Policy') take(id, r.Properties.PolicyDocument);
  }
  return out;
}

const READ_ONLY_ON_STAR = ['ec2:DescribeInstances', 'ec2:DescribeAddresses', 'iam:ListAccountAliases'];

function checkNoWriteOnStar(t: Obj): void {
  const all = statements(t);
  expect(all.length).toBeGreaterThan(0);
  for (const s of all) {
    expect(s.effect, s.where).toBe('Allow');
    expect(s.resources.length, `${s.where} has resources`).toBeGreaterThan(0);
    if (s.resources.includes('*')) for (const a of s.actions) expect(READ_ONLY_ON_STAR, `${s.where}: ${a} on "*"`).toContain(a);
    for (const a of s.actions) expect(a, `${s.where}: a wildcard action`).not.toMatch(/\*/);
  }
}

function checkCfnLint(path: string): void {
  const run = spawnSync('cfn-lint', [path], { cwd: ROOT, encoding: 'utf8' });
  if (run.error) expect.fail(`cfn-lint could not run (${run.error.message}); install it with: pip install cfn-lint`);
  expect(`${run.stdout}${run.stderr}`, 'cfn-lint findings').toBe('');
  expect(run.status).toBe(0);
}

function checkSpokeTrust(t: Obj): void {
  const roles = Object.entries(resources(t)).filter(([, r]) => r.Type === 'AWS::IAM::Role');
  const spoke = resources(t).SpokeRole;
  expect(spoke?.Type).toBe('AWS::IAM::Role');
  const trust = list((spoke?.Properties.AssumeRolePolicyDocument as Obj).Statement) as Obj[];
  expect(trust).toHaveLength(2);
  const withExternalId = (principal: string) => ({
    Effect: 'Allow',
    Principal: { AWS: { Ref: principal } },
    Action: 'sts:AssumeRole',
    Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
  });
  expect(trust[0]).toMatchObject(withExternalId('HubFunctionRoleArn'));
  expect(Object.keys(trust[0]?.Condition as Obj)).toEqual(['StringEquals']);
  // The operator (OperatorArn), only when one is given, and with the same external id.
  const [condition, operator, otherwise] = list((trust[1] as Obj)['Fn::If']) as [string, Obj, Obj];
  expect((t.Conditions as Obj)[condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'OperatorArn' }, ''] }] });
  expect(operator).toMatchObject(withExternalId('OperatorArn'));
  expect(Object.keys(operator.Condition as Obj)).toEqual(['StringEquals']);
  expect(otherwise).toEqual({ Ref: 'AWS::NoValue' });
  // The external id is not echoed, and no other role of the spoke trusts an AWS principal.
  expect((t.Parameters as Record<string, Obj>).ExternalId?.NoEcho).toBe(true);
  for (const [id, r] of roles) {
    if (id === 'SpokeRole') continue;
    for (const s of list((r.Properties.AssumeRolePolicyDocument as Obj).Statement) as Obj[]) expect((s.Principal as Obj).AWS, `${id} trusts an account`).toBeUndefined();
  }
}

function checkSpokeScope(t: Obj): void {
  const spokeStatements = statements(t).filter((s) => s.where.startsWith('SpokeRole') || s.where.startsWith('ElasticIpPolicy'));
  const actions = spokeStatements.flatMap((s) => s.actions).sort();
  expect([...new Set(actions)]).toEqual(
    ['ec2:AssociateAddress', 'ec2:DescribeAddresses', 'ec2:DescribeInstances', 'ec2:GetConsoleOutput', 'iam:ListAccountAliases', 'ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:PutParameter'],
  );
  const consoles = spokeStatements.filter((x) => x.actions.includes('ec2:GetConsoleOutput'));
  expect(consoles.map((x) => [x.actions, x.resources.map((r) => JSON.stringify(r))])).toEqual([[['ec2:GetConsoleOutput'], [JSON.stringify({ 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' })]]]);
  for (const s of spokeStatements.filter((x) => x.actions.some((a) => a.startsWith('ssm:')))) {
    for (const r of s.resources) expect(JSON.stringify(r), s.where).toMatch(/parameter\$\{ParameterPrefix\}/);
  }
  expect(resources(t).ElasticIpPolicy?.Condition).toBe('ElasticIpEnabled');
  // Forwarding may only put events on the hub's bus.
  const forward = statements(t).filter((s) => s.where.startsWith('ForwardRole'));
  expect(forward.map((s) => [s.actions, s.resources])).toEqual([[['events:PutEvents'], [{ Ref: 'HubEventBusArn' }]]]);
}

function checkSpokeRules(t: Obj): void {
  const rules = Object.values(resources(t)).filter((r) => r.Type === 'AWS::Events::Rule');
  const patterns = rules.map((r) => r.Properties.EventPattern as Obj);
  expect(patterns.map((p) => p['detail-type'])).toEqual([['EC2 Instance State-change Notification'], ['Tag Change on Resource']]);
  for (const r of rules) {
    expect(r.Properties.EventBusName, 'rules on the default bus').toBeUndefined();
    expect(r.Properties.Targets).toEqual([{ Id: 'ec2ip-hub', Arn: { Ref: 'HubEventBusArn' }, RoleArn: { 'Fn::GetAtt': ['ForwardRole', 'Arn'] } }]);
  }
  expect(Object.values(resources(t)).some((r) => r.Type === 'AWS::Lambda::Function'), 'the spoke has no Lambda').toBe(false);
}

function checkHubBus(t: Obj): void {
  const r = resources(t);
  expect(r.SpokeBus?.Type).toBe('AWS::Events::EventBus');
  const org = r.SpokeBusOrganizationPolicy;
  expect(org?.Condition).toBe('HasOrganization');
  expect(org?.Properties.Statement).toMatchObject({ Effect: 'Allow', Action: 'events:PutEvents', Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } } });
  const accounts = r.SpokeBusAccountsPolicy;
  expect(accounts?.Condition).toBe('HasMemberAccounts');
  expect(accounts?.Properties.Statement).toMatchObject({ Principal: { AWS: { Ref: 'MemberAccounts' } }, Action: 'events:PutEvents' });
  for (const id of ['StateChangeRule', 'TagChangeRule']) expect(r[id]?.Properties.EventBusName, id).toEqual({ Ref: 'SpokeBus' });
}

function checkHubFunction(t: Obj): void {
  const r = resources(t);
  const env = ((r.SyncFunction?.Properties.Environment as Obj).Variables ?? {}) as Obj;
  expect(env).toMatchObject({ SPOKE_ROLE_NAME: { Ref: 'SpokeRoleName' }, SPOKE_EXTERNAL_ID: { Ref: 'SpokeExternalId' }, SPOKES: { Ref: 'Spokes' }, SPOKE_STACK_SET: { Ref: 'SpokeStackSet' }, NAME_TEMPLATE: { Ref: 'NameTemplate' } });
  // The hub reads and writes nothing in its own account's EC2 or SSM: that is what the spoke roles are for.
  const actions = statements(t).flatMap((s) => s.actions);
  expect(actions.filter((a) => a.startsWith('ec2:') || a.startsWith('ssm:'))).toEqual([]);
  const assume = statements(t).filter((s) => s.actions.includes('sts:AssumeRole'));
  expect(assume.map((s) => s.resources)).toEqual([[{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/${SpokeRoleName}-*' }]]);
  // Named, so that the spokes can trust exactly it; the outputs give the spokes what they need.
  expect(r.SyncFunctionRole?.Properties.RoleName).toEqual({ 'Fn::Sub': '${AWS::StackName}-hub-${AWS::Region}' });
  expect(Object.keys(t.Outputs as Obj)).toEqual(expect.arrayContaining(['HubEventBusArn', 'HubFunctionRoleArn']));
}

/** The hub is the single-account template plus the hub parts: the shared resources are the same. */
function checkSharedWithSingleAccount(hub: Obj, single: Obj): void {
  const same = ['EventQueue', 'DeadLetterQueue', 'ReconcileFailureQueue', 'EventQueuePolicy', 'ReconcileRule', 'ReconcilePermission', 'ReconcileInvokeConfig', 'SyncFunctionLogGroup', 'Route53Policy', 'EventSourceMapping', 'DeadLetterQueueAlarm', 'ReconcileFailureAlarm'];
  for (const id of same) expect(resources(hub)[id], id).toEqual(resources(single)[id]);
  const fn = (t: Obj) => {
    const { Environment: _env, ...rest } = resources(t).SyncFunction?.Properties ?? {};
    return rest;
  };
  expect(fn(hub)).toEqual(fn(single));
  const singleEnv = ((resources(single).SyncFunction?.Properties.Environment as Obj).Variables ?? {}) as Obj;
  expect((resources(hub).SyncFunction?.Properties.Environment as Obj).Variables).toMatchObject(singleEnv);
}

const HUB = load('infra/hub.yaml');
const SPOKE = load('infra/spoke.yaml');
const SINGLE = load('infra/template.yaml');

describe('infra/spoke.yaml', () => {
  it('passes cfn-lint with no findings', { timeout: 120_000 }, () => checkCfnLint('infra/spoke.yaml'));
  it('IAM: no write action on Resource "*"', () => checkNoWriteOnStar(SPOKE));
  it('the spoke role trusts only the hub function role and the operator if one is given, with the external id', () => checkSpokeTrust(SPOKE));
  it('the spoke role reads instances and writes SSM under the prefix only; Elastic IPs only when enabled', () => checkSpokeScope(SPOKE));
  it('forwards state changes and ec2ip tag changes to the hub bus, and has no Lambda', () => checkSpokeRules(SPOKE));
});

describe('infra/hub.yaml', () => {
  it('passes cfn-lint with no findings', { timeout: 120_000 }, () => checkCfnLint('infra/hub.yaml'));
  it('IAM: no write action on Resource "*"', () => checkNoWriteOnStar(HUB));
  it('its bus admits the organization or the listed accounts only, and its rules read that bus', () => checkHubBus(HUB));
  it('its function assumes the spoke roles and has the hub settings', () => checkHubFunction(HUB));
  it('keeps the single-account template\'s queues, function and alarms', () => checkSharedWithSingleAccount(HUB, SINGLE));
});

describe('the hub and spoke checks can fail', () => {
  const broken = (t: Obj, change: (copy: Obj) => void): Obj => {
    const copy = structuredClone(t);
    change(copy);
    return copy;
  };
  const policy = (t: Obj, id: string, name: string) => (list(resources(t)[id]?.Properties.Policies) as Obj[]).find((p) => p.PolicyName === name)?.PolicyDocument as Obj;

  it.each([
    ['a write on "*"', () => checkNoWriteOnStar(broken(SPOKE, (c) => ((list(policy(c, 'SpokeRole', 'ssm').Statement)[0] as Obj).Resource = '*')))],
    ['a trust without the external id', () => checkSpokeTrust(broken(SPOKE, (c) => delete ((list((resources(c).SpokeRole?.Properties.AssumeRolePolicyDocument as Obj).Statement)[0] as Obj).Condition)))],
    ['a trust of the whole hub account', () => checkSpokeTrust(broken(SPOKE, (c) => (((list((resources(c).SpokeRole?.Properties.AssumeRolePolicyDocument as Obj).Statement)[0] as Obj).Principal as Obj).AWS = 'arn:aws:iam::123456789012:root')))],
    ['an operator trusted without the external id', () => checkSpokeTrust(broken(SPOKE, (c) => delete ((list((list((resources(c).SpokeRole?.Properties.AssumeRolePolicyDocument as Obj).Statement)[1] as Obj)['Fn::If'])[1] as Obj).Condition)))],
    ['an operator trusted when none is given', () => checkSpokeTrust(broken(SPOKE, (c) => ((c.Conditions as Obj).OperatorGiven = true)))],
    ['an SSM write outside the prefix', () => checkSpokeScope(broken(SPOKE, (c) => ((list(policy(c, 'SpokeRole', 'ssm').Statement)[0] as Obj).Resource = 'arn:aws:ssm:*:*:parameter/*')))],
    ['a rule that forwards elsewhere', () => checkSpokeRules(broken(SPOKE, (c) => ((resources(c).TagChangeRule?.Properties.Targets as Obj[])[0] as Obj).Arn = 'arn:aws:events:us-east-1:1:event-bus/x'))],
    ['a bus open to everyone', () => checkHubBus(broken(HUB, (c) => delete (resources(c).SpokeBusOrganizationPolicy?.Properties.Statement as Obj).Condition))],
    ['a hub that writes SSM itself', () => checkHubFunction(broken(HUB, (c) => (list(resources(c).SyncFunctionRole?.Properties.Policies) as Obj[]).push({ PolicyName: 'x', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'ssm:PutParameter', Resource: 'arn:aws:ssm:::parameter/x' }] } })))],
    ['a hub whose queue drifted from the single-account one', () => checkSharedWithSingleAccount(broken(HUB, (c) => (resources(c).EventQueue as { Properties: Obj }).Properties.VisibilityTimeout = 30), SINGLE)],
  ])('catches %s', (_what, check) => {
    expect(check).toThrow();
  });
});
