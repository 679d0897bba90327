/**
 * infra/template.yaml: cfn-lint clean, least privilege, and the wiring the
 * product relies on (state/tag events -> SQS -> Lambda, schedule -> Lambda with
 * an on-failure destination).
 *
 * The template is parsed (CloudFormation short-form tags included) and then
 * *evaluated* for concrete parameter sets: Conditions, Fn::If, AWS::NoValue,
 * Ref and Fn::Sub are resolved, resources whose Condition is false are dropped.
 * Pseudo parameters resolve to placeholders (PARTITION, REGION, ACCOUNT,
 * STACKNAME), resources to <LogicalId> / <LogicalId.Attr>, so an ARN that
 * hard-codes `aws` or a region never equals the expected one.
 *
 * Every check is a function of the template; the last block feeds each check a
 * deliberately broken copy and expects it to fail, so no check is vacuous.
 */
import { waitBeforeDlqSeconds } from '../../functions/core/backoff.js';
import { DEFAULT_PUT_PARAMETER_RATE, readConfig } from '../../functions/core/config.js';
import { PARAMETER_LEAVES } from '../../functions/core/desired.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEMPLATE_PATH = 'infra/template.yaml';
const TEMPLATE_TEXT = readFileSync(new URL(`../../${TEMPLATE_PATH}`, import.meta.url), 'utf8');

// ------------------------------------------------------------------ parsing

type Obj = Record<string, unknown>;

const INTRINSICS = [
  'Ref', 'Condition', 'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'If', 'ImportValue',
  'Join', 'Select', 'Split', 'Sub', 'Transform', 'Equals', 'Not', 'And', 'Or', 'Length', 'ToJsonString',
] as const;

const CFN_TAGS: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const tag = `!${name}`;
  const scalar: ScalarTag = {
    tag,
    // !GetAtt Res.Attr.With.Dots -> ['Res', 'Attr.With.Dots']
    resolve: (s: string) => ({ [key]: name === 'GetAtt' ? s.split(/\.(.*)/s).slice(0, 2) : s }),
  };
  const seq: CollectionTag = { tag, collection: 'seq', resolve: (c) => ({ [key]: c.toJSON() }) };
  const map: CollectionTag = { tag, collection: 'map', resolve: (c) => ({ [key]: c.toJSON() }) };
  return [scalar, seq, map];
});

function parseTemplate(text: string): Obj {
  const doc: unknown = parse(text, { customTags: CFN_TAGS, uniqueKeys: true });
  if (!isObj(doc)) throw new Error('template is not a mapping');
  return doc;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
function arr(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
function strs(v: unknown): string[] {
  return arr(v).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

// ------------------------------------------------------------------ evaluation

const NO_VALUE = Symbol('AWS::NoValue');
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'PARTITION',
  'AWS::Region': 'REGION',
  'AWS::AccountId': 'ACCOUNT',
  'AWS::StackName': 'STACKNAME',
  'AWS::StackId': 'STACKID',
  'AWS::URLSuffix': 'URLSUFFIX',
};

interface Evaluated {
  params: Record<string, string>;
  resources: Record<string, { Type: string; Properties: Obj }>;
  outputs: Obj;
}

/** The template as deployed with `overrides` on top of the parameters' defaults. */
function evaluate(template: Obj, overrides: Record<string, string>): Evaluated {
  const params: Record<string, string> = {};
  for (const [name, def] of Object.entries(obj(template.Parameters, 'Parameters'))) {
    const d = obj(def, `Parameter ${name}`).Default;
    if (d !== undefined) params[name] = String(d);
  }
  Object.assign(params, overrides);
  const conditions = isObj(template.Conditions) ? template.Conditions : {};
  const rawResources = obj(template.Resources, 'Resources');

  const cache = new Map<string, boolean>();
  const cond = (name: string): boolean => {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    if (!(name in conditions)) throw new Error(`unknown condition ${name}`);
    const v = condValue(conditions[name]);
    cache.set(name, v);
    return v;
  };
  const condValue = (c: unknown): boolean => {
    const o = obj(c, 'condition');
    if ('Condition' in o) return cond(String(o.Condition));
    if ('Fn::Equals' in o) {
      const [a, b] = arr(o['Fn::Equals']).map((x) => String(resolve(x)));
      return a === b;
    }
    if ('Fn::Not' in o) return !condValue(arr(o['Fn::Not'])[0]);
    if ('Fn::And' in o) return arr(o['Fn::And']).every(condValue);
    if ('Fn::Or' in o) return arr(o['Fn::Or']).some(condValue);
    throw new Error(`unsupported condition ${JSON.stringify(c)}`);
  };
  const ref = (name: string): string | typeof NO_VALUE => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const pseudo = PSEUDO[name];
    if (pseudo !== undefined) return pseudo;
    const param = params[name];
    if (param !== undefined) return param;
    if (name in rawResources) return `<${name}>`;
    throw new Error(`Ref to unknown ${name} (parameter without a value in the test?)`);
  };
  const sub = (text: string, vars: Obj): string =>
    text.replace(/\$\{([^}]*)\}/g, (_m, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      if (inner in vars) return String(vars[inner]);
      const dot = inner.indexOf('.');
      if (dot > 0 && !inner.startsWith('AWS::')) return `<${inner}>`;
      const r = ref(inner);
      if (r === NO_VALUE) throw new Error('AWS::NoValue inside Fn::Sub');
      return r;
    });
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve).filter((x) => x !== NO_VALUE);
    if (!isObj(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0] as string;
      const a = v[k];
      switch (k) {
        case 'Ref':
          return ref(String(a));
        case 'Fn::If': {
          const [c, yes, no] = arr(a);
          return resolve(cond(String(c)) ? yes : no);
        }
        case 'Fn::GetAtt': {
          const [res, att] = Array.isArray(a) ? a : String(a).split(/\.(.*)/s);
          return `<${String(res)}.${String(att)}>`;
        }
        case 'Fn::Sub': {
          if (typeof a === 'string') return sub(a, {});
          const [text, vars] = arr(a);
          return sub(String(text), obj(resolve(vars ?? {}), 'Fn::Sub variables'));
        }
        case 'Fn::Join': {
          const [delim, list] = arr(a);
          return arr(resolve(list)).map(String).join(String(delim));
        }
        case 'Fn::Split': {
          const [delim, text] = arr(a);
          return String(resolve(text)).split(String(delim));
        }
        case 'Fn::Select': {
          const [i, list] = arr(a);
          return arr(resolve(list))[Number(resolve(i))];
        }
        default:
          break;
      }
    }
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const r = resolve(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  };

  const resources: Evaluated['resources'] = {};
  for (const [id, raw] of Object.entries(rawResources)) {
    const r = obj(raw, `resource ${id}`);
    if (r.Condition !== undefined && !cond(String(r.Condition))) continue;
    resources[id] = { Type: String(r.Type), Properties: obj(resolve(r.Properties ?? {}), `${id}.Properties`) };
  }
  const outputs: Obj = {};
  for (const [id, raw] of Object.entries(isObj(template.Outputs) ? template.Outputs : {})) {
    const o = obj(raw, `output ${id}`);
    if (o.Condition !== undefined && !cond(String(o.Condition))) continue;
    outputs[id] = resolve(o.Value);
  }
  return { params, resources, outputs };
}

/** Values for the parameters that have no default. */
const REQUIRED = { HostedZoneId: '', CodeS3Bucket: 'code-bucket', CodeS3Key: 'ec2ip/abc.zip' };
const ZONE_CASES = [
  { HostedZoneId: 'ZPUBLIC1', PrivateHostedZoneId: '' },
  { HostedZoneId: '', PrivateHostedZoneId: 'ZPRIVATE2' },
  { HostedZoneId: 'ZPUBLIC1', PrivateHostedZoneId: 'ZPRIVATE2' },
  { HostedZoneId: '', PrivateHostedZoneId: '' },
];
/** Every combination of the parameters that switch IAM statements on and off. */
const CASES: Record<string, string>[] = ZONE_CASES.flatMap((zones) =>
  ['false', 'true'].flatMap((eip) =>
    ['/ec2ip', '/team/ec2ip'].map((prefix) => ({
      ...REQUIRED,
      ...zones,
      EnableElasticIp: eip,
      ParameterPrefix: prefix,
    })),
  ),
);

function ofType(t: Evaluated, type: string): [string, Obj][] {
  return Object.entries(t.resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}
function single(t: Evaluated, type: string): [string, Obj] {
  const found = ofType(t, type);
  expect(found.map(([id]) => id), `exactly one ${type}`).toHaveLength(1);
  return found[0] as [string, Obj];
}

interface Statement {
  where: string;
  effect: unknown;
  actions: string[];
  resources: string[];
  condition: Obj | undefined;
  raw: Obj;
}

/** Every statement of every PolicyDocument (identity and resource policies). */
function statements(t: Evaluated): Statement[] {
  const found: Statement[] = [];
  const walk = (v: unknown, where: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`));
    if (!isObj(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'PolicyDocument') {
        arr(obj(x, `${where}.PolicyDocument`).Statement).forEach((s, i) => {
          const raw = obj(s, 'statement');
          found.push({
            where: `${where}.PolicyDocument.Statement[${i}]${raw.Sid ? ` (${String(raw.Sid)})` : ''}`,
            effect: raw.Effect,
            actions: strs(raw.Action),
            resources: strs(raw.Resource),
            condition: isObj(raw.Condition) ? raw.Condition : undefined,
            raw,
          });
        });
      } else {
        walk(x, `${where}.${k}`);
      }
    }
  };
  for (const [id, r] of Object.entries(t.resources)) walk(r.Properties, id);
  return found;
}

/** Statements of the function's execution role (inline and attached policies). */
function roleStatements(t: Evaluated): Statement[] {
  const role = roleOfFunction(t);
  return statements(t).filter((s) => s.where.startsWith(`${role}.`) || attachedTo(t, s, role));
}
function attachedTo(t: Evaluated, s: Statement, role: string): boolean {
  const id = s.where.split('.')[0] as string;
  const r = t.resources[id];
  if (!r || !['AWS::IAM::Policy', 'AWS::IAM::RolePolicy', 'AWS::IAM::ManagedPolicy'].includes(r.Type)) return false;
  return [...strs(r.Properties.Roles), ...strs(r.Properties.RoleName)].includes(`<${role}>`);
}
function roleOfFunction(t: Evaluated): string {
  const [, fn] = single(t, 'AWS::Lambda::Function');
  const m = /^<(\w+)\.Arn>$/.exec(String(fn.Role));
  expect(m, 'the function role is a role of this template').not.toBeNull();
  const id = (m as RegExpExecArray)[1] as string;
  expect(t.resources[id]?.Type).toBe('AWS::IAM::Role');
  return id;
}

function glob(pattern: string): RegExp {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}
/** True if the (possibly wildcard) action pattern grants any of `actions`. */
function grants(pattern: string, actions: string[]): boolean {
  return actions.some((a) => glob(pattern).test(a));
}
const WRITE_VERB = /^[\w-]+:(Put|Delete|Change|Associate|Disassociate|Send|Create)/i;
const isWrite = (action: string): boolean => /[*?]/.test(action) || WRITE_VERB.test(action);

// ------------------------------------------------------------------ the checks

function checkIamShape(t: Evaluated): void {
  for (const s of statements(t)) {
    expect(s.raw.NotAction, `${s.where}: no NotAction`).toBeUndefined();
    expect(s.raw.NotResource, `${s.where}: no NotResource`).toBeUndefined();
    expect(s.effect, `${s.where}: Allow only`).toBe('Allow');
  }
  const [roleId, role] = single(t, 'AWS::IAM::Role');
  expect(roleId).toBe(roleOfFunction(t));
  expect(role.ManagedPolicyArns, 'no managed policies on the role').toBeUndefined();
  expect(ofType(t, 'AWS::IAM::ManagedPolicy'), 'no managed policies').toEqual([]);
}

function checkNoStarOnWrites(t: Evaluated): void {
  for (const s of statements(t)) {
    if (s.actions.some(isWrite)) {
      expect(s.resources, `${s.where}: write action ${s.actions.join(', ')} on "*"`).not.toContain('*');
      expect(s.resources.length, `${s.where}: has resources`).toBeGreaterThan(0);
    }
    if (s.resources.includes('*')) {
      // Only the EC2 reads that IAM cannot scope.
      for (const a of s.actions) {
        expect(['ec2:DescribeInstances', 'ec2:DescribeAddresses'], `${s.where}: ${a} on "*"`).toContain(a);
      }
    }
  }
}

function zoneArns(t: Evaluated): string[] {
  return [t.params.HostedZoneId, t.params.PrivateHostedZoneId]
    .filter((z): z is string => !!z)
    .map((z) => `arn:PARTITION:route53:::hostedzone/${z}`);
}

function checkRoute53(t: Evaluated): void {
  const zones = zoneArns(t);
  const all = roleStatements(t).filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('route53:')));
  const change = all.filter((s) => s.actions.some((a) => grants(a, ['route53:ChangeResourceRecordSets'])));
  if (zones.length === 0) {
    expect(all.map((s) => s.where), 'no Route 53 permission without a zone').toEqual([]);
    return;
  }
  expect(change.length, 'ChangeResourceRecordSets is granted').toBeGreaterThan(0);
  expect([...new Set(change.flatMap((s) => s.resources))].sort(), 'ChangeResourceRecordSets: the configured zones only').toEqual(
    [...zones].sort(),
  );
  for (const s of change) {
    const types = obj(s.condition?.['ForAllValues:StringEquals'], `${s.where}: ForAllValues:StringEquals condition`)[
      'route53:ChangeResourceRecordSetsRecordTypes'
    ];
    expect(strs(types).sort(), `${s.where}: record types`).toEqual(['A', 'AAAA', 'TXT']);
  }
  for (const s of all) {
    for (const r of s.resources) expect(zones, `${s.where}: ${r} is a configured zone`).toContain(r);
  }
  const granted = all.flatMap((s) => s.actions);
  for (const a of ['route53:ListResourceRecordSets', 'route53:GetHostedZone']) {
    expect(granted.some((g) => grants(g, [a])), `${a} is granted`).toBe(true);
  }
}

function checkSsm(t: Evaluated): void {
  const path = `arn:PARTITION:ssm:REGION:ACCOUNT:parameter${t.params.ParameterPrefix}`;
  const ssm = roleStatements(t).filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('ssm:')));
  for (const s of ssm) {
    expect(s.actions.filter((a) => !a.toLowerCase().startsWith('ssm:')), `${s.where}: SSM only`).toEqual([]);
    for (const r of s.resources) {
      const byPathOnly = s.actions.every((a) => a === 'ssm:GetParametersByPath');
      const ok = r.startsWith(`${path}/`) || (byPathOnly && r === path);
      expect(ok, `${s.where}: ${r} is under ${path}/`).toBe(true);
    }
  }
  const resourcesOf = (action: string) =>
    ssm.filter((s) => s.actions.some((a) => grants(a, [action]))).flatMap((s) => s.resources);
  for (const action of ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:GetParameter', 'ssm:GetParameters']) {
    expect(resourcesOf(action), `${action} under the prefix`).toContain(`${path}/*`);
  }
  expect(resourcesOf('ssm:GetParametersByPath'), 'GetParametersByPath on the path itself and below').toEqual(
    expect.arrayContaining([path, `${path}/*`]),
  );
}

/** The role's EC2 actions: the reads, GetConsoleOutput on instances only, AssociateAddress with Elastic IPs. */
function checkEc2(t: Evaluated): void {
  const ec2 = roleStatements(t).filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('ec2:')));
  const granted = [...new Set(ec2.flatMap((s) => s.actions))].sort();
  expect(granted).toEqual(['ec2:DescribeAddresses', 'ec2:DescribeInstances', 'ec2:GetConsoleOutput', ...(t.params.EnableElasticIp === 'true' ? ['ec2:AssociateAddress'] : [])].sort());
  const consoles = ec2.filter((s) => s.actions.includes('ec2:GetConsoleOutput'));
  expect(consoles).toHaveLength(1);
  expect(consoles[0]?.actions).toEqual(['ec2:GetConsoleOutput']);
  expect(consoles[0]?.resources).toEqual(['arn:PARTITION:ec2:REGION:ACCOUNT:instance/*']);
}

const EIP_ACTIONS = ['ec2:AssociateAddress', 'ec2:DisassociateAddress', 'ec2:AllocateAddress', 'ec2:ReleaseAddress'];

function checkElasticIp(t: Evaluated): void {
  const eip = statements(t).filter((s) => s.actions.some((a) => grants(a, EIP_ACTIONS)));
  if (t.params.EnableElasticIp !== 'true') {
    expect(eip.map((s) => s.where), 'no Elastic IP action while EnableElasticIp is false').toEqual([]);
    return;
  }
  expect(eip.length, 'AssociateAddress is granted when EnableElasticIp is true').toBeGreaterThan(0);
  const base = 'arn:PARTITION:ec2:REGION:ACCOUNT:';
  for (const s of eip) {
    for (const r of s.resources) {
      expect(/^(elastic-ip|instance|network-interface)\/\*$/.test(r.slice(base.length)) && r.startsWith(base), `${s.where}: ${r}`).toBe(true);
    }
  }
  const onEips = eip.filter((s) => s.resources.some((r) => r.startsWith(`${base}elastic-ip/`)));
  expect(onEips.length).toBeGreaterThan(0);
  for (const s of onEips) {
    expect(JSON.stringify(s.condition ?? {}), `${s.where}: only Elastic IPs tagged ec2ip:pool`).toContain('ResourceTag/ec2ip:pool');
  }
}

function checkQueues(t: Evaluated): void {
  const role = roleStatements(t);
  const [, esm] = single(t, 'AWS::Lambda::EventSourceMapping');
  const queueArn = String(esm.EventSourceArn);
  const queueId = /^<(\w+)\.Arn>$/.exec(queueArn)?.[1] ?? '';
  const queue = t.resources[queueId];
  expect(queue?.Type, 'the mapping reads a queue of this template').toBe('AWS::SQS::Queue');
  const consume = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'];
  for (const s of role.filter((x) => x.actions.some((a) => grants(a, consume)))) {
    expect(s.resources, `${s.where}: consume the event queue only`).toEqual([queueArn]);
  }
  // The event source mapping polls with the function's role: each action must be granted.
  for (const action of consume) {
    const granting = role.filter((x) => x.actions.some((a) => grants(a, [action])));
    expect(granting.flatMap((x) => x.resources), `${action} on the event queue`).toEqual([queueArn]);
  }
  const [, fn] = single(t, 'AWS::Lambda::Function');
  const redrive = obj(queue?.Properties.RedrivePolicy, 'RedrivePolicy');
  expect(Number(redrive.maxReceiveCount)).toBe(10);
  // With the handler's retry delays, a fault that never clears reaches the DLQ after half an hour or so, not in minutes.
  const wait = waitBeforeDlqSeconds(Number(redrive.maxReceiveCount), 'write');
  expect(wait, 'seconds a failing item waits before the DLQ').toBeGreaterThanOrEqual(20 * 60);
  expect(wait, 'seconds a failing item waits before the DLQ').toBeLessThanOrEqual(60 * 60);
  const dlq = t.resources[/^<(\w+)\.Arn>$/.exec(String(redrive.deadLetterTargetArn))?.[1] ?? ''];
  expect(dlq?.Type, 'redrive to a queue of this template').toBe('AWS::SQS::Queue');
  expect(Number(dlq?.Properties.MessageRetentionPeriod)).toBe(14 * 24 * 3600);
  expect(Number(queue?.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * Number(fn.Timeout));
}

function checkFunction(t: Evaluated): void {
  const [fnId, fn] = single(t, 'AWS::Lambda::Function');
  expect(fn.Runtime).toBe('nodejs22.x');
  expect(fn.Architectures).toEqual(['arm64']);
  expect(fn.Handler).toBe('index.handler');
  expect(fn.MemorySize).toBe(256);
  expect(fn.Timeout).toBe(120);
  expect(fn.Code).toEqual({ S3Bucket: t.params.CodeS3Bucket, S3Key: t.params.CodeS3Key });
  expect(obj(obj(fn.Environment, 'Environment').Variables, 'Variables')).toEqual({
    HOSTED_ZONE_ID: t.params.HostedZoneId,
    PRIVATE_HOSTED_ZONE_ID: t.params.PrivateHostedZoneId,
    PARAMETER_PREFIX: t.params.ParameterPrefix,
    RECORD_TTL: t.params.RecordTtl,
    OWNER_ID: 'STACKNAME',
    ON_STOP: t.params.OnStop,
    ENABLE_ELASTIC_IP: t.params.EnableElasticIp,
  });
  // The log group: /aws/lambda/<function name>, with retention, and the only logs target.
  const [lgId, lg] = single(t, 'AWS::Logs::LogGroup');
  expect(lg.LogGroupName).toBe(`/aws/lambda/${String(fn.FunctionName ?? `<${fnId}>`)}`);
  expect(lg.RetentionInDays).toBe(t.params.LogRetentionDays);
  expect(obj(fn.LoggingConfig, 'LoggingConfig').LogGroup).toBe(`<${lgId}>`);
  const logs = roleStatements(t).filter((s) => s.actions.some((a) => a.toLowerCase().startsWith('logs:')));
  expect(logs.flatMap((s) => s.actions).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  for (const s of logs) expect(s.resources, s.where).toEqual([`<${lgId}.Arn>`]);
}

function queueTargetOf(rule: Obj): string[] {
  return arr(rule.Targets).map((x) => String(obj(x, 'target').Arn));
}

function checkEventRules(t: Evaluated): void {
  const rules = ofType(t, 'AWS::Events::Rule');
  const [esmId, esm] = single(t, 'AWS::Lambda::EventSourceMapping');
  const queueArn = String(esm.EventSourceArn);
  const byPattern = (source: string, detailType: string) =>
    rules.filter(([, r]) => {
      const p = isObj(r.EventPattern) ? r.EventPattern : {};
      return strs(p.source).includes(source) && strs(p['detail-type']).includes(detailType);
    });

  const state = byPattern('aws.ec2', 'EC2 Instance State-change Notification');
  expect(state, 'one state-change rule').toHaveLength(1);
  const [stateId, stateRule] = state[0] as [string, Obj];
  const detail = obj(obj(stateRule.EventPattern, 'EventPattern').detail, 'detail');
  expect(strs(detail.state).sort(), 'all six states').toEqual(
    ['pending', 'running', 'shutting-down', 'stopped', 'stopping', 'terminated'],
  );
  expect(queueTargetOf(stateRule), 'state changes go to the queue').toEqual([queueArn]);

  const tag = byPattern('aws.tag', 'Tag Change on Resource');
  expect(tag, 'one tag-change rule').toHaveLength(1);
  const [tagId, tagRule] = tag[0] as [string, Obj];
  const tagDetail = obj(obj(tagRule.EventPattern, 'EventPattern').detail, 'detail');
  expect(strs(tagDetail.service)).toEqual(['ec2']);
  expect(strs(tagDetail['resource-type'])).toEqual(['instance']);
  expect(queueTargetOf(tagRule), 'tag changes go to the same queue').toEqual([queueArn]);

  // Only these two rules may send to the queue.
  const [, qp] = single(t, 'AWS::SQS::QueuePolicy');
  const send = statements(t).filter((s) => s.where.startsWith(`${qpId(t)}.`));
  expect(send).toHaveLength(1);
  const st = send[0] as Statement;
  expect(st.raw.Principal).toEqual({ Service: 'events.amazonaws.com' });
  expect(st.actions).toEqual(['sqs:SendMessage']);
  expect(st.resources).toEqual([queueArn]);
  expect(strs(obj(st.condition?.ArnEquals, 'ArnEquals')['aws:SourceArn']).sort()).toEqual(
    [`<${stateId}.Arn>`, `<${tagId}.Arn>`].sort(),
  );
  expect(strs(qp.Queues)).toEqual([`<${/^<(\w+)\.Arn>$/.exec(queueArn)?.[1]}>`]);

  expect(esmId).toBeTruthy();
  expect(strs(esm.FunctionResponseTypes)).toContain('ReportBatchItemFailures');
  // Small batches keep a failed item's retry prompt (issue 22): the MaximumConcurrency
  // containers share the account's PutParameter rate, so a batch of BatchSize instances (an
  // IPv4-only instance writes 3 parameters: instance-id, private-ip, public-ip) takes
  // 3 × BatchSize × concurrency / rate seconds to write; at ≤ 20 s a container is free soon
  // after the 5 s delay ends, and the retry comes within 30 s (bench section 4).
  const concurrency = Number(obj(esm.ScalingConfig, 'ScalingConfig').MaximumConcurrency);
  const parametersPerInstance = PARAMETER_LEAVES.filter((leaf) => leaf !== 'ipv6').length;
  expect(esm.BatchSize).toBe(10);
  expect(concurrency).toBe(2);
  expect((parametersPerInstance * Number(esm.BatchSize) * concurrency) / DEFAULT_PUT_PARAMETER_RATE, 'seconds to write one batch').toBeLessThanOrEqual(20);
  expect(esm.MaximumBatchingWindowInSeconds).toBe(5);
}
function qpId(t: Evaluated): string {
  return single(t, 'AWS::SQS::QueuePolicy')[0];
}

function checkSchedule(t: Evaluated): void {
  const [fnId] = single(t, 'AWS::Lambda::Function');
  const fnArn = `<${fnId}.Arn>`;
  const scheduled = ofType(t, 'AWS::Events::Rule').filter(([, r]) => r.ScheduleExpression !== undefined);
  expect(scheduled, 'one schedule').toHaveLength(1);
  const [ruleId, rule] = scheduled[0] as [string, Obj];
  expect(rule.ScheduleExpression).toBe(t.params.ReconcileSchedule);
  expect(queueTargetOf(rule), 'the schedule invokes the function directly').toEqual([fnArn]);

  const perms = ofType(t, 'AWS::Lambda::Permission');
  expect(
    perms.some(([, p]) =>
      p.Principal === 'events.amazonaws.com' &&
      p.Action === 'lambda:InvokeFunction' &&
      p.SourceArn === `<${ruleId}.Arn>` &&
      [fnArn, `<${fnId}>`].includes(String(p.FunctionName))),
    'events.amazonaws.com may invoke the function from the schedule rule',
  ).toBe(true);

  const [, cfg] = single(t, 'AWS::Lambda::EventInvokeConfig');
  expect([fnArn, `<${fnId}>`]).toContain(String(cfg.FunctionName));
  expect(cfg.MaximumRetryAttempts).toBe(2);
  const dest = String(obj(obj(cfg.DestinationConfig, 'DestinationConfig').OnFailure, 'OnFailure').Destination);
  const destId = /^<(\w+)\.Arn>$/.exec(dest)?.[1] ?? '';
  expect(t.resources[destId]?.Type, 'the on-failure destination is a queue of this template').toBe('AWS::SQS::Queue');
  const sends = roleStatements(t).filter((s) => s.actions.some((a) => grants(a, ['sqs:SendMessage'])));
  expect(sends.flatMap((s) => s.resources), 'sqs:SendMessage on the failure destination only').toEqual([dest]);
}

function checkMonitoring(t: Evaluated): void {
  const [, esm] = single(t, 'AWS::Lambda::EventSourceMapping');
  const queueId = /^<(\w+)\.Arn>$/.exec(String(esm.EventSourceArn))?.[1] ?? '';
  const redrive = obj(t.resources[queueId]?.Properties.RedrivePolicy, 'RedrivePolicy');
  const dlqId = /^<(\w+)\.Arn>$/.exec(String(redrive.deadLetterTargetArn))?.[1] ?? '';
  const alarms = ofType(t, 'AWS::CloudWatch::Alarm').filter(
    ([, a]) =>
      a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
      JSON.stringify(a.Dimensions).includes(`<${dlqId}.QueueName>`),
  );
  expect(alarms, 'an alarm on the DLQ').toHaveLength(1);
  const [, alarm] = alarms[0] as [string, Obj];
  expect(alarm.Threshold).toBe(0);
  expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');

  const [dashId, dash] = single(t, 'AWS::CloudWatch::Dashboard');
  const body = obj(JSON.parse(String(dash.DashboardBody)), 'DashboardBody');
  const metrics = JSON.stringify(body);
  for (const m of ['Published', 'Deleted', 'Refused', 'Conflicts', 'Retried']) {
    expect(metrics).toContain(JSON.stringify(['ec2ip', m, 'Service', 'STACKNAME']));
  }
  expect(metrics).toContain(JSON.stringify(['AWS/SQS', 'NumberOfMessagesSent', 'QueueName', `<${queueId}.QueueName>`]));
  expect(metrics).toContain(JSON.stringify(['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `<${dlqId}.QueueName>`]));
  expect(metrics).toMatch(/\["AWS\/Lambda","Errors","FunctionName","<\w+>"\]/);
  expect(String(dash.DashboardName), 'dashboards are global: the name carries the region').toContain('REGION');

  expect(Object.keys(t.outputs).sort()).toEqual(
    expect.arrayContaining(['DashboardName', 'DeadLetterQueueUrl', 'FunctionArn', 'FunctionName', 'ParameterPrefix', 'QueueUrl']),
  );
  expect(t.outputs.DashboardName).toBe(`<${dashId}>`);
  expect(t.outputs.QueueUrl).toBe(`<${queueId}>`);
  expect(t.outputs.DeadLetterQueueUrl).toBe(`<${dlqId}>`);
  expect(t.outputs.ParameterPrefix).toBe(t.params.ParameterPrefix);
}

const ACCOUNT_ID = /(?<![\d])\d{12}(?![\d])/;
const REGION_NAME = /\b(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso[a-z]?)-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d+\b/i;
const LITERAL_PARTITION = /arn:aws(-[a-z-]+)?:/;

function checkNoHardCoding(text: string): void {
  expect(text.match(ACCOUNT_ID)?.[0], 'no 12-digit account id').toBeUndefined();
  expect(text.match(REGION_NAME)?.[0], 'no region name').toBeUndefined();
  expect(text.match(LITERAL_PARTITION)?.[0], 'ARNs use ${AWS::Partition}').toBeUndefined();
}

// ------------------------------------------------------------------ tests

const TEMPLATE = parseTemplate(TEMPLATE_TEXT);
const label = (c: Record<string, string>) =>
  `public=${c.HostedZoneId || '-'} private=${c.PrivateHostedZoneId || '-'} eip=${c.EnableElasticIp} prefix=${c.ParameterPrefix}`;

/** Runs cfn-lint; never skips: a missing cfn-lint is a failure. */
function checkCfnLint(path: string): void {
  const run = spawnSync('cfn-lint', ['--', path], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    expect.fail(
      code === 'ENOENT'
        ? 'cfn-lint is not installed (or not on PATH): pip install cfn-lint'
        : `cfn-lint could not run (${run.error.message}); install it with: pip install cfn-lint`,
    );
  }
  expect(`${run.stdout}${run.stderr}`, 'cfn-lint findings').toBe('');
  expect(run.status, 'cfn-lint exit status').toBe(0);
}

describe('infra/template.yaml', () => {
  it('passes cfn-lint with no findings', { timeout: 120_000 }, () => {
    checkCfnLint(TEMPLATE_PATH);
  });

  it('is plain CloudFormation with the documented parameters and outputs', () => {
    expect(TEMPLATE.Transform).toBeUndefined();
    const params = obj(TEMPLATE.Parameters, 'Parameters');
    expect(Object.keys(params).sort()).toEqual(
      ['CodeS3Bucket', 'CodeS3Key', 'EnableElasticIp', 'HostedZoneId', 'LogRetentionDays', 'OnStop',
        'ParameterPrefix', 'PrivateHostedZoneId', 'ReconcileSchedule', 'RecordTtl'].sort(),
    );
    const p = (name: string) => obj(params[name], name);
    expect(p('ParameterPrefix').Default).toBe('/ec2ip');
    const prefix = new RegExp(String(p('ParameterPrefix').AllowedPattern));
    for (const ok of ['/ec2ip', '/team/ec2ip', '/a_b.c-d']) expect(prefix.test(ok), ok).toBe(true);
    for (const bad of ['ec2ip', '/', '/ec2ip/', '//ec2ip', '/ec2 ip', '']) expect(prefix.test(bad), bad).toBe(false);
    expect(p('PrivateHostedZoneId').Default).toBe('');
    const zone = new RegExp(String(p('HostedZoneId').AllowedPattern));
    for (const ok of ['', 'Z0123456789ABCDEFGHIJ']) expect(zone.test(ok), ok).toBe(true);
    for (const bad of ['/hostedzone/Z123', 'z123', 'Z123*']) expect(zone.test(bad), bad).toBe(false);
    expect(String(p('RecordTtl').Default)).toBe('60');
    expect(p('OnStop').AllowedValues).toEqual(['delete', 'keep']);
    expect(p('OnStop').Default).toBe('delete');
    expect(p('ReconcileSchedule').Default).toBe('rate(15 minutes)');
    expect(p('EnableElasticIp').AllowedValues).toEqual(['false', 'true']);
    expect(p('EnableElasticIp').Default).toBe('false');
    expect(String(p('LogRetentionDays').Default)).toBe('30');
  });

  it('contains no hard-coded account id, region or partition', () => {
    checkNoHardCoding(TEMPLATE_TEXT);
  });

  describe.each(CASES.map((c) => [label(c), c] as const))('deployed with %s', (_name, params) => {
    const t = evaluate(TEMPLATE, params);
    it('IAM: Allow statements only, no managed policies', () => checkIamShape(t));
    it('IAM: no write action on Resource "*"', () => checkNoStarOnWrites(t));
    it('IAM: Route 53 only on the configured zones, A/AAAA/TXT only', () => checkRoute53(t));
    it('IAM: SSM only under the parameter prefix, GetParametersByPath on the path too', () => checkSsm(t));
    it('IAM: Elastic IP actions only when EnableElasticIp is true, scoped', () => checkElasticIp(t));
    it('IAM: EC2 reads only, GetConsoleOutput on instances only', () => checkEc2(t));
  });

  describe('with default parameters', () => {
    const t = evaluate(TEMPLATE, { ...REQUIRED, HostedZoneId: 'ZPUBLIC1' });
    it('the Lambda: nodejs22.x on arm64, its environment and its own log group', () => checkFunction(t));
    it('the event rules match all six states and ec2ip tag changes, into one queue with ReportBatchItemFailures', () =>
      checkEventRules(t));
    it('the queue: DLQ after 10 receives (about 33 minutes of retry delays), 14 days retention, visibility >= 6 x timeout, consumed only by the function', () =>
      checkQueues(t));
    it('the schedule invokes the function with retries and an on-failure destination', () => checkSchedule(t));
    it('a DLQ alarm, a dashboard and the outputs', () => checkMonitoring(t));
  });
});

// ------------------------------------------------------------------ the checks can fail

type Mutation = (tpl: Obj) => void;
const res = (tpl: Obj, id: string): Obj => obj(obj(obj(tpl.Resources, 'Resources')[id], id).Properties, `${id}.Properties`);
const roleId = (tpl: Obj): string => {
  const found = Object.entries(obj(tpl.Resources, 'Resources')).find(([, r]) => isObj(r) && r.Type === 'AWS::IAM::Role');
  if (!found) throw new Error('no role');
  return found[0];
};
const ofTypeRaw = (tpl: Obj, type: string): Obj =>
  obj(Object.values(obj(tpl.Resources, 'Resources')).find((r) => isObj(r) && r.Type === type), type);
const addRoleStatement = (tpl: Obj, statement: Obj) => {
  const policies = arr(res(tpl, roleId(tpl)).Policies);
  policies.push({ PolicyName: 'extra', PolicyDocument: { Version: '2012-10-17', Statement: [statement] } });
  res(tpl, roleId(tpl)).Policies = policies;
};
/** Removes the statement with this Sid from the function role's inline policies. */
const removeRoleStatement = (tpl: Obj, sid: string): void => {
  let removed = 0;
  for (const policy of arr(res(tpl, roleId(tpl)).Policies)) {
    const doc = obj(obj(policy, 'policy').PolicyDocument, 'PolicyDocument');
    const kept = arr(doc.Statement).filter((st) => obj(st, 'statement').Sid !== sid);
    removed += arr(doc.Statement).length - kept.length;
    doc.Statement = kept;
  }
  if (removed !== 1) throw new Error(`no single statement ${sid} in the role`);
};
/** Replaces every string in the template that `from` matches. */
const replaceStrings = (tpl: Obj, from: RegExp, to: string): void => {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(from, to);
    if (Array.isArray(v)) return v.map(walk);
    if (isObj(v)) {
      for (const k of Object.keys(v)) v[k] = walk(v[k]);
    }
    return v;
  };
  walk(tpl);
};
/** Renames every mapping key that `from` matches. */
const replaceKeys = (tpl: Obj, from: RegExp, to: string): void => {
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isObj(v)) return;
    for (const k of Object.keys(v)) {
      walk(v[k]);
      const renamed = k.replace(from, to);
      if (renamed !== k) {
        v[renamed] = v[k];
        delete v[k];
      }
    }
  };
  walk(tpl);
};
const unwrapIfs = (tpl: Obj, condition: string): void => {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObj(v)) return v;
    const f = v['Fn::If'];
    if (Array.isArray(f) && f[0] === condition) return walk(f[1]);
    for (const k of Object.keys(v)) v[k] = walk(v[k]);
    return v;
  };
  walk(tpl);
  // A resource that carries the condition itself loses it too.
  for (const r of Object.values((tpl.Resources ?? {}) as Obj)) {
    if (isObj(r) && r.Condition === condition) delete r.Condition;
  }
};

const ALL_CASES = (check: (t: Evaluated) => void) => (tpl: Obj) => {
  for (const c of CASES) check(evaluate(tpl, c));
};
const DEFAULTS = (check: (t: Evaluated) => void) => (tpl: Obj) => check(evaluate(tpl, { ...REQUIRED, HostedZoneId: 'ZPUBLIC1' }));

const BROKEN: [string, (tpl: Obj) => void, Mutation][] = [
  ['a write action on "*"', ALL_CASES(checkNoStarOnWrites),
    (tpl) => addRoleStatement(tpl, { Effect: 'Allow', Action: ['ssm:PutParameter'], Resource: '*' })],
  ['a wildcard action on "*"', ALL_CASES(checkNoStarOnWrites),
    (tpl) => addRoleStatement(tpl, { Effect: 'Allow', Action: 'sqs:*', Resource: '*' })],
  ['a managed policy', ALL_CASES(checkIamShape),
    (tpl) => { res(tpl, roleId(tpl)).ManagedPolicyArns = [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }]; }],
  ['ChangeResourceRecordSets on every zone', ALL_CASES(checkRoute53),
    (tpl) => replaceStrings(tpl, /hostedzone\/\$\{HostedZoneId\}/, 'hostedzone/*')],
  ['Route 53 granted although no zone is configured', ALL_CASES(checkRoute53),
    (tpl) => unwrapIfs(tpl, 'HasAnyZone')],
  ['Route 53 without the record-type condition', ALL_CASES(checkRoute53),
    (tpl) => replaceKeys(tpl, /^route53:ChangeResourceRecordSetsRecordTypes$/, 'route53:ChangeResourceRecordSetsActions')],
  ['SSM outside the prefix', ALL_CASES(checkSsm),
    (tpl) => replaceStrings(tpl, /parameter\$\{ParameterPrefix\}\/\*/, 'parameter${ParameterPrefix}*')],
  ['GetParametersByPath without the path itself', ALL_CASES(checkSsm),
    (tpl) => replaceStrings(tpl, /parameter\$\{ParameterPrefix\}$/, 'parameter${ParameterPrefix}/*')],
  ['Elastic IP actions without the EnableElasticIp condition', ALL_CASES(checkElasticIp),
    (tpl) => unwrapIfs(tpl, 'ElasticIpEnabled')],
  ['Elastic IPs without the pool tag condition', ALL_CASES(checkElasticIp),
    (tpl) => replaceKeys(tpl, /ResourceTag\/ec2ip:pool/, 'ResourceTag/other')],
  ['GetConsoleOutput on "*"', ALL_CASES(checkEc2),
    (tpl) => replaceStrings(tpl, /:instance\/\*$/, '*')],
  ['another EC2 action beside GetConsoleOutput', ALL_CASES(checkEc2),
    (tpl) => addRoleStatement(tpl, { Effect: 'Allow', Action: ['ec2:GetConsoleScreenshot'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' } })],
  ['nodejs20.x', DEFAULTS(checkFunction), (tpl) => { res(tpl, 'SyncFunction').Runtime = 'nodejs20.x'; }],
  ['x86_64', DEFAULTS(checkFunction), (tpl) => { res(tpl, 'SyncFunction').Architectures = ['x86_64']; }],
  ['a rule missing a state', DEFAULTS(checkEventRules),
    (tpl) => replaceStrings(tpl, /^shutting-down$/, 'stopping')],
  ['a mapping without ReportBatchItemFailures', DEFAULTS(checkEventRules),
    (tpl) => { delete obj(ofTypeRaw(tpl, 'AWS::Lambda::EventSourceMapping').Properties, 'ESM').FunctionResponseTypes; }],
  ['a schedule without an on-failure destination', DEFAULTS(checkSchedule),
    (tpl) => { delete obj(ofTypeRaw(tpl, 'AWS::Lambda::EventInvokeConfig').Properties, 'EIC').DestinationConfig; }],
  ['a short visibility timeout', DEFAULTS(checkQueues),
    (tpl) => { res(tpl, 'EventQueue').VisibilityTimeout = 120; }],
  ['a role that cannot consume the event queue (ConsumeEventQueue removed)', DEFAULTS(checkQueues),
    (tpl) => removeRoleStatement(tpl, 'ConsumeEventQueue')],
];

describe('the checks catch a broken template', () => {
  it('the unbroken template passes every check used below', () => {
    for (const [, check] of BROKEN) check(structuredClone(TEMPLATE));
  });
  it.each(BROKEN)('%s', (_name, check, mutate) => {
    const tpl = structuredClone(TEMPLATE);
    mutate(tpl);
    expect(() => check(tpl)).toThrow();
  });
  it('cfn-lint rejects an invalid runtime', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec2ip-template-'));
    try {
      const broken = join(dir, 'template.yaml');
      writeFileSync(broken, TEMPLATE_TEXT.replace('Runtime: nodejs22.x', 'Runtime: nodejs0.x'));
      expect(() => checkCfnLint(broken)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it.each([
    ['an account id', (s: string) => s.replace('${AWS::AccountId}', '123456789012')],
    ['a region', (s: string) => s.replace('${AWS::Region}', 'eu-west-1')],
    ['a literal partition', (s: string) => s.replace('arn:${AWS::Partition}:', 'arn:aws:')],
  ])('hard-coded %s', (_name, mutate) => {
    const text = mutate(TEMPLATE_TEXT);
    expect(text).not.toBe(TEMPLATE_TEXT);
    expect(() => checkNoHardCoding(text)).toThrow();
  });
});

describe('the template and the function agree', () => {
  it.each([
    ['the defaults and one public zone', { HostedZoneId: 'ZPUBLIC1' }],
    ['both zones, a prefix, keep on stop and Elastic IPs', { HostedZoneId: 'ZPUBLIC1', PrivateHostedZoneId: 'ZPRIVATE1', ParameterPrefix: '/team/ips', OnStop: 'keep', EnableElasticIp: 'true', RecordTtl: '30' }],
    ['no zone at all (SSM only)', {}],
  ])('gives the function an environment its configuration accepts: %s', (_case, params) => {
    const t = evaluate(TEMPLATE, { ...REQUIRED, ...params });
    const [, fn] = single(t, 'AWS::Lambda::Function');
    const variables = obj(obj(fn.Environment, 'Environment').Variables, 'Variables');
    const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
    const config = readConfig({ ...env, AWS_REGION: 'eu-west-1' });
    expect(config).toMatchObject({ ownerId: 'STACKNAME', prefix: t.params.ParameterPrefix, onStop: t.params.OnStop, ttl: Number(t.params.RecordTtl) });
    expect(config.hostedZoneId).toBe(t.params.HostedZoneId || undefined);
    expect(config.elasticIp ?? false).toBe(t.params.EnableElasticIp === 'true');
  });
});

// ------------------------------------------------------------------ every permission the function needs

/** One call the function's role must be allowed: by the code, or by AWS on the function's behalf. */
interface Need {
  action: string;
  resource: string;
  why: string;
}

/** AWS managed policies a role could carry instead of inline statements: what they grant. */
const MANAGED: Record<string, { actions: string[]; resources: string[] }> = {
  AWSLambdaBasicExecutionRole: { actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['*'] },
  AWSLambdaSQSQueueExecutionRole: { actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['*'] },
  AWSXRayDaemonWriteAccess: { actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], resources: ['*'] },
};

/** The AWS API calls in functions/: `new XCommand(` of an `@aws-sdk/client-*` import, as IAM actions. */
function codeActions(): { action: string; file: string }[] {
  const prefix: Record<string, string> = { ec2: 'ec2', 'route-53': 'route53', ssm: 'ssm', sts: 'sts', iam: 'iam', cloudformation: 'cloudformation', sqs: 'sqs', s3: 's3' };
  const found: { action: string; file: string }[] = [];
  const dir = join(ROOT, 'functions');
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const clientOf = new Map<string, string>();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([\w-]+)'/g)) {
      for (const name of (m[1] as string).split(',').map((n) => n.replace(/^\s*type\s+/, '').trim())) clientOf.set(name, m[2] as string);
    }
    for (const m of text.matchAll(/new\s+(\w+)Command\(/g)) {
      const client = clientOf.get(`${m[1]}Command`);
      if (client === undefined) throw new Error(`functions/${file}: ${m[1]}Command is not imported from an @aws-sdk client`);
      const service = prefix[client];
      if (!service) throw new Error(`functions/${file}: no IAM prefix known for @aws-sdk/client-${client}`);
      found.push({ action: `${service}:${m[1]}`, file: `functions/${file}` });
    }
  }
  return found;
}

/**
 * The resources each call of the code touches when deployed by this template, or 'hub' for
 * calls only a hub makes (infra/hub.yaml grants those). A call missing here fails the test:
 * a new AWS call needs its permission decided.
 */
const CODE_CALLS: Record<string, (t: Evaluated) => string[] | 'hub'> = {
  'ec2:DescribeInstances': () => ['*'],
  'ec2:DescribeAddresses': () => ['*'],
  // Host keys at first sight (functions/sync/host-keys.ts): the instance's own ARN.
  'ec2:GetConsoleOutput': () => ['arn:PARTITION:ec2:REGION:ACCOUNT:instance/i-0example'],
  // AssociateAddress is authorised against the address and the instance or its interface.
  'ec2:AssociateAddress': (t) =>
    t.params.EnableElasticIp === 'true' ? ['elastic-ip/eipalloc-0example', 'instance/i-0example', 'network-interface/eni-0example'].map((r) => `arn:PARTITION:ec2:REGION:ACCOUNT:${r}`) : [],
  'route53:ChangeResourceRecordSets': (t) => zoneArns(t),
  'route53:ListResourceRecordSets': (t) => zoneArns(t),
  'route53:GetHostedZone': (t) => zoneArns(t),
  'ssm:PutParameter': (t) => [`arn:PARTITION:ssm:REGION:ACCOUNT:parameter${t.params.ParameterPrefix}/web/public-ip`],
  'ssm:GetParameters': (t) => [`arn:PARTITION:ssm:REGION:ACCOUNT:parameter${t.params.ParameterPrefix}/web/public-ip`],
  'ssm:DeleteParameters': (t) => [`arn:PARTITION:ssm:REGION:ACCOUNT:parameter${t.params.ParameterPrefix}/web/public-ip`],
  // Authorised against the path itself (AWS-NOTES.md).
  'ssm:GetParametersByPath': (t) => [`arn:PARTITION:ssm:REGION:ACCOUNT:parameter${t.params.ParameterPrefix}`],
  'sts:AssumeRole': () => 'hub',
  // Failed items' retry delays (functions/adapters/sqs.ts), on the queue the function consumes.
  'sqs:ChangeMessageVisibilityBatch': (t) => ofType(t, 'AWS::Lambda::EventSourceMapping').map(([, m]) => String(m.EventSourceArn)),
};

/** A batch API is authorised as its single-message action (SQS's API reference). */
const IAM_ACTION: Record<string, string> = { 'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility' };

/** What the function's role must allow, derived from the template's own resources and the code's calls. */
function neededPermissions(t: Evaluated): Need[] {
  const needs: Need[] = [];
  const [fnId, fn] = single(t, 'AWS::Lambda::Function');
  const isFn = (v: unknown) => [`<${fnId}>`, `<${fnId}.Arn>`].includes(String(v));
  const need = (actions: string[], resource: string, why: string) => needs.push(...actions.map((action) => ({ action, resource, why })));
  // Lambda polls an SQS event source with the function's role.
  for (const [id, esm] of ofType(t, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => isFn(m.FunctionName))) {
    need(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'], String(esm.EventSourceArn), `${id} polls its queue`);
  }
  // Lambda writes the function's logs with its role: into the configured group, or its default one.
  const group = isObj(fn.LoggingConfig) ? fn.LoggingConfig.LogGroup : undefined;
  const groupId = /^<(\w+)>$/.exec(String(group))?.[1];
  if (groupId && t.resources[groupId]?.Type === 'AWS::Logs::LogGroup') {
    need(['logs:CreateLogStream', 'logs:PutLogEvents'], `<${groupId}.Arn>`, `${fnId} logs into ${groupId}`);
  } else {
    const name = group === undefined ? `/aws/lambda/${String(fn.FunctionName ?? `<${fnId}>`)}` : String(group);
    need(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], `arn:PARTITION:logs:REGION:ACCOUNT:log-group:${name}:*`, `${fnId} logs into ${name}`);
  }
  if (isObj(fn.TracingConfig) && fn.TracingConfig.Mode === 'Active') need(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*', `${fnId} traces with X-Ray`);
  // Asynchronous invocation destinations and the dead-letter queue are sent to with the function's role.
  const targets: [string, string][] = [];
  for (const [id, eic] of ofType(t, 'AWS::Lambda::EventInvokeConfig').filter(([, c]) => isFn(c.FunctionName))) {
    const dest = isObj(eic.DestinationConfig) ? eic.DestinationConfig : {};
    for (const kind of ['OnFailure', 'OnSuccess']) {
      const d = dest[kind];
      if (isObj(d) && d.Destination !== undefined) targets.push([String(d.Destination), `${id} ${kind}`]);
    }
  }
  if (isObj(fn.DeadLetterConfig) && fn.DeadLetterConfig.TargetArn !== undefined) targets.push([String(fn.DeadLetterConfig.TargetArn), `${fnId} dead-letter queue`]);
  for (const [arn, why] of targets) {
    const type = t.resources[/^<(\w+)\.Arn>$/.exec(arn)?.[1] ?? '']?.Type ?? (/^arn:[^:]*:(\w+):/.exec(arn)?.[1] ?? '');
    const action = { 'AWS::SQS::Queue': 'sqs:SendMessage', sqs: 'sqs:SendMessage', 'AWS::SNS::Topic': 'sns:Publish', sns: 'sns:Publish', 'AWS::Lambda::Function': 'lambda:InvokeFunction', lambda: 'lambda:InvokeFunction', events: 'events:PutEvents' }[type];
    if (!action) throw new Error(`${why}: destination ${arn} of an unknown kind`);
    need([action], arn, why);
  }
  // The code's own calls.
  for (const { action, file } of codeActions()) {
    const rule = CODE_CALLS[action];
    if (!rule) throw new Error(`${file} calls ${action}: add it to CODE_CALLS with the resources it touches`);
    const resources = rule(t);
    if (resources !== 'hub') for (const r of resources) need([IAM_ACTION[action] ?? action], r, `${file} calls ${action}`);
  }
  return needs;
}

/** The needs the function's role does not grant (conditions are taken as met: they narrow, the checks above pin them). */
function missingPermissions(t: Evaluated): Need[] {
  const statements = roleStatements(t).filter((s) => s.effect === 'Allow');
  const role = t.resources[roleOfFunction(t)]?.Properties ?? {};
  const managed = strs(role.ManagedPolicyArns).flatMap((arn) => {
    const m = MANAGED[arn.split('/').pop() ?? ''];
    return m ? [m] : [];
  });
  const granted = (n: Need) =>
    [...statements, ...managed].some(
      (s) => s.actions.some((a) => grants(a, [n.action])) && s.resources.some((r) => glob(r).test(n.resource)),
    );
  return neededPermissions(t).filter((n) => !granted(n));
}

function checkPermissions(t: Evaluated): void {
  const needs = neededPermissions(t);
  // Not vacuous: the queue, the logs, the failure destination and the code's reads are always needed.
  for (const a of ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'logs:PutLogEvents', 'sqs:SendMessage', 'ec2:DescribeInstances', 'ssm:PutParameter']) {
    expect(needs.map((n) => n.action), `${a} is among the needs`).toContain(a);
  }
  const missing = missingPermissions(t).map((n) => `${n.action} on ${n.resource} (${n.why})`);
  if (missing.length > 0) throw new Error(`permissions the role lacks: ${missing.join('; ')}`);
}

/** Every statement of the function's role in the raw template, with a way to remove it. */
function roleStatementSlots(tpl: Obj): { sid: string; actions: string[]; remove: () => void }[] {
  const slots: { sid: string; actions: string[]; remove: () => void }[] = [];
  const role = roleId(tpl);
  const docs: [string, Obj][] = arr(res(tpl, role).Policies).map((p) => [`${role}.${String(obj(p, 'policy').PolicyName)}`, obj(obj(p, 'policy').PolicyDocument, 'PolicyDocument')]);
  for (const [id, r] of Object.entries(obj(tpl.Resources, 'Resources'))) {
    const raw = obj(r, id);
    if (raw.Type !== 'AWS::IAM::Policy') continue;
    const p = obj(raw.Properties, `${id}.Properties`);
    if (JSON.stringify(p.Roles ?? []).includes(`"${role}"`)) docs.push([id, obj(p.PolicyDocument, `${id}.PolicyDocument`)]);
  }
  for (const [where, doc] of docs) {
    arr(doc.Statement).forEach((s, i) => {
      slots.push({
        sid: `${where} ${String(obj(s, 'statement').Sid ?? i)}`,
        actions: strs(obj(s, 'statement').Action),
        remove: () => { doc.Statement = arr(doc.Statement).filter((_, j) => j !== i); },
      });
    });
  }
  return slots;
}

/** Both zones and Elastic IPs: the case in which every statement of the role is in force. */
const ALL_ON = { ...REQUIRED, HostedZoneId: 'ZPUBLIC1', PrivateHostedZoneId: 'ZPRIVATE2', EnableElasticIp: 'true' };

describe('the function role grants every permission the function needs', () => {
  it('finds the code’s AWS calls', () => {
    expect([...new Set(codeActions().map((c) => c.action))].sort()).toEqual(expect.arrayContaining(['ec2:DescribeInstances', 'route53:ChangeResourceRecordSets', 'ssm:PutParameter']));
  });
  it.each(CASES.map((c) => [label(c), c] as const))('deployed with %s', (_name, params) => checkPermissions(evaluate(TEMPLATE, params)));
  it('has every statement of the role in force when both zones and Elastic IPs are on', () => {
    expect(roleStatementSlots(structuredClone(TEMPLATE)).length).toBe(roleStatements(evaluate(TEMPLATE, ALL_ON)).length);
  });
  const slots = roleStatementSlots(structuredClone(TEMPLATE)).map((s, i) => [s.sid, i] as const);
  it('loops over the role’s statements', () => expect(slots.length).toBeGreaterThanOrEqual(8));
  it.each(slots)('fails without the statement %s', (_sid, index) => {
    const tpl = structuredClone(TEMPLATE);
    const slot = roleStatementSlots(tpl)[index] as { actions: string[]; remove: () => void };
    slot.remove();
    // The failure names one of the removed statement's actions.
    expect(() => checkPermissions(evaluate(tpl, ALL_ON))).toThrow(new RegExp(`permissions the role lacks: .*(${slot.actions.join('|')}) on `));
  });
  it.each([
    ['an X-Ray traced function', (tpl: Obj) => { res(tpl, 'SyncFunction').TracingConfig = { Mode: 'Active' }; }],
    ['a function with a dead-letter queue', (tpl: Obj) => { res(tpl, 'SyncFunction').DeadLetterConfig = { TargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } }; }],
    ['a function without its own log group', (tpl: Obj) => { delete res(tpl, 'SyncFunction').LoggingConfig; }],
  ])('fails for %s whose role lacks the permissions it adds', (_name, mutate) => {
    const tpl = structuredClone(TEMPLATE);
    mutate(tpl);
    expect(() => checkPermissions(evaluate(tpl, ALL_ON))).toThrow(/permissions the role lacks/);
  });
  it('accepts AWSLambdaBasicExecutionRole in place of the log statements', () => {
    const tpl = structuredClone(TEMPLATE);
    const slot = roleStatementSlots(tpl).find((s) => s.sid.endsWith('WriteOwnLogGroup'));
    expect(slot, 'the log statement').toBeDefined();
    slot?.remove();
    expect(() => checkPermissions(evaluate(tpl, ALL_ON))).toThrow(/logs:PutLogEvents/);
    res(tpl, roleId(tpl)).ManagedPolicyArns = [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }];
    checkPermissions(evaluate(tpl, ALL_ON));
  });
});
