/**
 * A CloudFormation template of infra/ as one concrete stack would have it: parsed with its
 * short-form tags (the `yaml` package, as test/unit/template.test.ts does), Conditions,
 * Fn::If, AWS::NoValue, Ref, Fn::Sub, Fn::Join, Fn::Split, Fn::Select and Fn::GetAtt resolved
 * with a real account, region and stack name, so its IAM policies can be evaluated against
 * the calls a test made (test/support/iam-audit.ts).
 *
 *   const stack = resolveStack('template', { account: '123456789012', region: 'us-east-1', stackName: 'ec2ip', params: { HostedZoneId: 'Z1' } });
 *   rolePolicies(stack, 'SyncFunctionRole')   // every policy attached to the role
 */
import { readFileSync } from 'node:fs';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

export type TemplateName = 'template' | 'hub' | 'spoke';

type Obj = Record<string, unknown>;

const INTRINSICS = [
  'Ref', 'Condition', 'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'If', 'ImportValue',
  'Join', 'Select', 'Split', 'Sub', 'Transform', 'Equals', 'Not', 'And', 'Or', 'Length', 'ToJsonString',
] as const;

const CFN_TAGS: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const tag = `!${name}`;
  const scalar: ScalarTag = { tag, resolve: (s: string) => ({ [key]: name === 'GetAtt' ? s.split(/\.(.*)/s).slice(0, 2) : s }) };
  const seq: CollectionTag = { tag, collection: 'seq', resolve: (c) => ({ [key]: c.toJSON() }) };
  const map: CollectionTag = { tag, collection: 'map', resolve: (c) => ({ [key]: c.toJSON() }) };
  return [scalar, seq, map];
});

/** The parsed template (intrinsics as their long form), read once per name. */
const parsed = new Map<string, Obj>();
export function templateDocument(name: TemplateName, text?: string): Obj {
  const key = text ?? name;
  const hit = parsed.get(key);
  if (hit) return hit;
  const source = text ?? readFileSync(new URL(`../../infra/${name}.yaml`, import.meta.url), 'utf8');
  const doc: unknown = parse(source, { customTags: CFN_TAGS, uniqueKeys: true });
  if (!isObj(doc)) throw new Error(`infra/${name}.yaml is not a mapping`);
  parsed.set(key, doc);
  return doc;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
export function arr(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Where and as what a stack is deployed. */
export interface StackSettings {
  account: string;
  region: string;
  stackName: string;
  /** Parameter values on top of the template's defaults. */
  params: Record<string, string>;
}

export interface ResolvedStack extends StackSettings {
  template: TemplateName;
  resources: Record<string, { Type: string; Properties: Obj }>;
}

const NO_VALUE = Symbol('AWS::NoValue');

/** The template as the stack `settings` describe would hold it, every intrinsic resolved. */
export function resolveStack(template: TemplateName, settings: StackSettings, text?: string): ResolvedStack {
  const doc = templateDocument(template, text);
  const { account, region, stackName } = settings;
  const paramDefs = obj(doc.Parameters ?? {}, 'Parameters');
  const params: Record<string, string> = {};
  for (const [name, def] of Object.entries(paramDefs)) {
    const d = obj(def, `Parameter ${name}`).Default;
    if (d !== undefined) params[name] = String(d);
  }
  Object.assign(params, settings.params);
  const conditions = isObj(doc.Conditions) ? doc.Conditions : {};
  const rawResources = obj(doc.Resources, 'Resources');
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
    'AWS::URLSuffix': 'amazonaws.com',
  };

  const cache = new Map<string, boolean>();
  const cond = (name: string): boolean => {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    if (!(name in conditions)) throw new Error(`infra/${template}.yaml: unknown condition ${name}`);
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
  const ref = (name: string): unknown => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const p = pseudo[name];
    if (p !== undefined) return p;
    const param = params[name];
    if (param !== undefined) {
      const type = isObj(paramDefs[name]) ? String(paramDefs[name].Type) : 'String';
      return type === 'CommaDelimitedList' ? param.split(',') : param;
    }
    if (name in rawResources) return physicalId(name);
    throw new Error(`infra/${template}.yaml: Ref to ${name}, which has no value for this stack (give the parameter)`);
  };
  const physicalId = (id: string): string => {
    const r = obj(rawResources[id], id);
    const props = isObj(r.Properties) ? r.Properties : {};
    const named = (key: string) => (props[key] !== undefined ? String(resolve(props[key])) : `${stackName}-${id}`);
    switch (r.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${named('QueueName')}`;
      case 'AWS::IAM::Role':
        return named('RoleName');
      case 'AWS::Events::EventBus':
        return named('Name');
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName');
      case 'AWS::Lambda::Function':
        return named('FunctionName');
      default:
        return `${stackName}-${id}`;
    }
  };
  const getAtt = (id: string, att: string): string => {
    if (!(id in rawResources)) throw new Error(`infra/${template}.yaml: GetAtt of unknown resource ${id}`);
    const type = String(obj(rawResources[id], id).Type);
    const name = physicalId(id);
    const arns: Record<string, () => string> = {
      'AWS::SQS::Queue': () => `arn:aws:sqs:${region}:${account}:${name.slice(name.lastIndexOf('/') + 1)}`,
      'AWS::IAM::Role': () => `arn:aws:iam::${account}:role/${name}`,
      'AWS::Events::EventBus': () => `arn:aws:events:${region}:${account}:event-bus/${name}`,
      'AWS::Events::Rule': () => `arn:aws:events:${region}:${account}:rule/${name}`,
      'AWS::Logs::LogGroup': () => `arn:aws:logs:${region}:${account}:log-group:${name}:*`,
      'AWS::Lambda::Function': () => `arn:aws:lambda:${region}:${account}:function:${name}`,
    };
    const arn = arns[type];
    if (att === 'Arn' && arn) return arn();
    return `<${id}.${att}>`;
  };
  const sub = (text: string, vars: Obj): string =>
    text.replace(/\$\{([^}]*)\}/g, (_m, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      if (inner in vars) return String(vars[inner]);
      const dot = inner.indexOf('.');
      if (dot > 0 && !inner.startsWith('AWS::')) return getAtt(inner.slice(0, dot), inner.slice(dot + 1));
      const r = ref(inner);
      if (r === NO_VALUE) throw new Error('AWS::NoValue inside Fn::Sub');
      return String(r);
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
          return getAtt(String(res), String(att));
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

  const resources: ResolvedStack['resources'] = {};
  for (const [id, raw] of Object.entries(rawResources)) {
    const r = obj(raw, `resource ${id}`);
    if (r.Condition !== undefined && !cond(String(r.Condition))) continue;
    resources[id] = { Type: String(r.Type), Properties: obj(resolve(r.Properties ?? {}), `${id}.Properties`) };
  }
  return { template, account, region, stackName, params, resources };
}

/** An IAM policy document with a name saying where in the template it is. */
export interface NamedPolicy {
  name: string;
  policy: { Version: string; Statement: Obj[] };
}

function document(v: unknown, where: string): NamedPolicy['policy'] {
  const d = obj(v, where);
  return { Version: String(d.Version ?? '2012-10-17'), Statement: arr(d.Statement).map((s, i) => obj(s, `${where}.Statement[${i}]`)) };
}

/** Every identity policy of a role: its inline Policies and the AWS::IAM::Policy resources naming it. */
export function rolePolicies(stack: ResolvedStack, roleId: string): NamedPolicy[] {
  const role = stack.resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`infra/${stack.template}.yaml has no role ${roleId}`);
  const out: NamedPolicy[] = arr(role.Properties.Policies).map((p, i) => {
    const o = obj(p, `${roleId}.Policies[${i}]`);
    return { name: `${stack.template}.yaml ${roleId} ${String(o.PolicyName)}`, policy: document(o.PolicyDocument, `${roleId}.${String(o.PolicyName)}`) };
  });
  const roleName = String(role.Properties.RoleName ?? `${stack.stackName}-${roleId}`);
  for (const [id, r] of Object.entries(stack.resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    if (!arr(r.Properties.Roles).map(String).includes(roleName)) continue;
    out.push({ name: `${stack.template}.yaml ${id}`, policy: document(r.Properties.PolicyDocument, id) });
  }
  return out;
}

/** The role's trust policy (AssumeRolePolicyDocument). */
export function trustPolicy(stack: ResolvedStack, roleId: string): NamedPolicy['policy'] {
  const role = stack.resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`infra/${stack.template}.yaml has no role ${roleId}`);
  return document(role.Properties.AssumeRolePolicyDocument, `${roleId}.AssumeRolePolicyDocument`);
}

/** The event bus's resource policy: the statements of every AWS::Events::EventBusPolicy of the stack. */
export function busPolicy(stack: ResolvedStack): NamedPolicy['policy'] {
  const statements = Object.entries(stack.resources)
    .filter(([, r]) => r.Type === 'AWS::Events::EventBusPolicy')
    .map(([id, r]) => ({ Sid: String(r.Properties.StatementId ?? id), ...obj(r.Properties.Statement, `${id}.Statement`) }));
  return { Version: '2012-10-17', Statement: statements };
}

/** The ARN of a role of the stack. */
export function roleArn(stack: ResolvedStack, roleId: string): string {
  const role = stack.resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`infra/${stack.template}.yaml has no role ${roleId}`);
  return `arn:aws:iam::${stack.account}:role/${String(role.Properties.RoleName ?? `${stack.stackName}-${roleId}`)}`;
}

/**
 * The parameters of a stack whose function runs with `env`: each Lambda environment variable
 * that the template sets from a parameter (`HOSTED_ZONE_ID: !Ref HostedZoneId`) gives that
 * parameter its value, so the policies evaluated are those of the stack the test configured.
 */
export function paramsFromFunctionEnv(template: TemplateName, env: Record<string, string | undefined>): Record<string, string> {
  const doc = templateDocument(template);
  const fn = Object.values(obj(doc.Resources, 'Resources')).find((r) => isObj(r) && r.Type === 'AWS::Lambda::Function');
  if (!isObj(fn)) throw new Error(`infra/${template}.yaml has no function`);
  const props = obj(fn.Properties, 'function Properties');
  const vars = obj(obj(props.Environment, 'Environment').Variables, 'Environment.Variables');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) {
    if (!isObj(value) || typeof value.Ref !== 'string' || value.Ref.startsWith('AWS::')) continue;
    const v = env[name];
    if (v !== undefined && v !== '') out[value.Ref] = v;
  }
  return out;
}
