/**
 * Least privilege, evaluated: every AWS call the code under test makes is recorded by a proxy
 * in front of moto (test/support/aws-proxy.ts), mapped to the IAM request AWS would authorise
 * (action, resource ARNs, the condition keys AWS sets) and evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate, a development-only dependency) against the policies that the
 * templates in infra/ give the role making it. Moto enforces no IAM at all; this is what shows
 * that the templates allow what the function really does.
 *
 *   describe('…', () => {
 *     useMoto();
 *     useIamAudit('function');   // after useMoto: the code under test now talks to moto through the audit
 *     …                          // each test fails if one of its calls would be denied
 *   });
 *
 * Who makes a call is read from its credentials: the plain `test` keys are the stack's own
 * role (the single-account function, or the hub's function) or, for `cli`, a user with the
 * policies of infra/user-policy*.json (the docs'; in tests where the Lambda or the setup also
 * call AWS, only the calls signed with the person's own key, USER_ACCESS_KEY), keys that an audited AssumeRole
 * handed out are the role assumed (a spoke role of infra/spoke.yaml in that account). The
 * stack's parameters come from the function's environment at the time of the call, through the
 * template's own mapping of parameters to environment variables.
 *
 * A call without a mapping below fails the test with a message naming it: add its mapping to
 * CALLS when the code starts making a new call.
 */
import { readFileSync } from 'node:fs';
import { DescribeAddressesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startProxy, type AwsProxy, type RawRequest } from './aws-proxy.js';
import { paramsFromFunctionEnv, resolveStack, roleArn, rolePolicies, templateDocument, trustPolicy, isObj, type NamedPolicy, type ResolvedStack, type TemplateName } from './cfn-stack.js';
import { motoEndpoint } from './moto.js';

/** The hub's account and the single-account tests' account: moto's default. */
export const AUDIT_ACCOUNT = '123456789012';
/** What the hub tests deploy (test/support/hub.ts): the spoke stacks' parameters. */
const SPOKE_ROLE_NAME = 'ec2ip-spoke';
const SPOKE_EXTERNAL_ID = 'ec2ip-test-external-id';
const HUB_STACK = 'ec2ip';

/** Values for the parameters without a default that no environment variable gives. */
const REQUIRED: Record<TemplateName, Record<string, string>> = {
  template: { HostedZoneId: '', CodeS3Bucket: 'ec2ip-code', CodeS3Key: 'ec2ip/index.zip' },
  hub: { HostedZoneId: '', CodeS3Bucket: 'ec2ip-code', CodeS3Key: 'ec2ip/index.zip', SpokeExternalId: SPOKE_EXTERNAL_ID },
  spoke: {},
};

/** One call as the audit saw it. */
export interface RecordedCall {
  seq: number;
  service: string;
  action: string;
  region: string;
  method: string;
  path: string;
  body: string;
  accessKeyId: string;
  /** The environment variables of the function's template at the time of the call. */
  env: Record<string, string | undefined>;
  /** Tags of the resources the call names, looked up as it arrived (AssociateAddress, Start/StopInstances, GetConsoleOutput). */
  tags: Record<string, Record<string, string>>;
  /** For `cli`: the person's edits of the policy files when the call was made (IamAudit.edit). */
  edits?: Record<string, string>;
}

/** What IAM authorises for one resource of a call. */
export interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** Where the call's principal acts. */
interface Where {
  account: string;
  region: string;
}

type Mapper = (call: RecordedCall, where: Where) => IamRequest[];

const form = (call: RecordedCall) => new URLSearchParams(call.body);
const json = (call: RecordedCall): Record<string, unknown> => {
  const v: unknown = call.body ? JSON.parse(call.body) : {};
  return isObj(v) ? v : {};
};
const listed = (params: URLSearchParams, name: string): string[] =>
  [...params.entries()].filter(([k]) => k === name || new RegExp(`^${name}\\.\\d+$`).test(k)).map(([, v]) => v);

const star = (action: string): Mapper => () => [{ action, resource: '*', context: {} }];
const ssmArn = (where: Where, name: string) => `arn:aws:ssm:${where.region}:${where.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
const ssmNames = (action: string, field: 'Name' | 'Names' | 'Path'): Mapper => (call, where) => {
  const v = json(call)[field];
  const names = (Array.isArray(v) ? v : [v]).map(String);
  return names.map((n) => ({ action, resource: ssmArn(where, n), context: {} }));
};
const zoneOf = (call: RecordedCall) => {
  const id = /\/hostedzone\/([^/]+)/.exec(call.path)?.[1];
  if (!id) throw new Error(`call ${call.seq} ${call.action}: no hosted zone in ${call.path}`);
  return `arn:aws:route53:::hostedzone/${decodeURIComponent(id)}`;
};
const ec2Arn = (where: Where, type: string, id: string) => `arn:aws:ec2:${where.region}:${where.account}:${type}/${id}`;
const tagContext = (call: RecordedCall, arn: string): Record<string, string> =>
  Object.fromEntries(Object.entries(call.tags[arn] ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
const instances = (action: string): Mapper => (call, where) =>
  listed(form(call), 'InstanceId').map((id) => {
    const resource = ec2Arn(where, 'instance', id);
    return { action, resource, context: tagContext(call, resource) };
  });

const sqsQueue = (action: string): Mapper => (call, where) => {
  const url = String(json(call).QueueUrl ?? form(call).get('QueueUrl') ?? '');
  const name = url.slice(url.lastIndexOf('/') + 1);
  if (!name) throw new Error(`call ${call.seq} ${action}: no QueueUrl in its body`);
  return [{ action, resource: `arn:aws:sqs:${where.region}:${where.account}:${name}`, context: {} }];
};

// EventBridge rules and targets: `ec2ip doctor`'s reads.
const eventsRule = (action: string, field: 'Name' | 'Rule'): Mapper => (call, where) => {
  const body = json(call);
  const name = String(body[field] ?? '');
  const bus = body.EventBusName ? String(body.EventBusName).replace(/^arn:.*:event-bus\//, '') : 'default';
  if (!name) throw new Error(`call ${call.seq} ${action}: no ${field} in its body`);
  return [{ action, resource: `arn:aws:events:${where.region}:${where.account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`, context: {} }];
};
const sqsArn = (action: string, field: string): Mapper => (call) => {
  const arn = String(json(call)[field] ?? '');
  if (!arn.startsWith('arn:')) throw new Error(`call ${call.seq} ${action}: no ${field} in its body`);
  return [{ action, resource: arn, context: {} }];
};

/** A stack named by StackName (a name or the stack's ARN), with the change set's name when the call names one. */
const stack = (action: string): Mapper => (call, where) => {
  const p = form(call);
  const name = p.get('StackName') ?? '';
  const resource = name.startsWith('arn:') ? name : `arn:aws:cloudformation:${where.region}:${where.account}:stack/${name}/00000000-0000-0000-0000-000000000000`;
  const changeSet = p.get('ChangeSetName');
  const changeSetName = changeSet?.startsWith('arn:') ? (/:changeSet\/([^/]+)\//.exec(changeSet)?.[1] ?? changeSet) : changeSet;
  const context: Record<string, string> = changeSetName ? { 'cloudformation:ChangeSetName': changeSetName } : {};
  return [{ action, resource, context }];
};
const stackSet = (action: string): Mapper => (call, where) => [
  { action, resource: `arn:aws:cloudformation:${where.region}:${where.account}:stackset/${form(call).get('StackSetName') ?? ''}:00000000-0000-0000-0000-000000000000`, context: {} },
];

/**
 * S3 (REST, path style as the CLI sends it to an emulator): the bucket's and the object's
 * calls of `deploy`, each as the action the S3 reference gives it (HeadBucket is s3:ListBucket,
 * HeadObject s3:GetObject).
 */
export function s3Requests(call: RecordedCall): IamRequest[] {
  const url = new URL(call.path, 'http://s3');
  const [bucket = '', ...rest] = url.pathname.replace(/^\//, '').split('/');
  const key = decodeURIComponent(rest.join('/'));
  const q = url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const onBucket = (action: string) => [{ action, resource: bucketArn, context: {} }];
  if (!bucket) throw new Error(`call ${call.seq} s3 ${call.method} ${call.path}: no bucket in its path`);
  if (key) {
    const action = call.method === 'PUT' ? 's3:PutObject' : call.method === 'HEAD' || call.method === 'GET' ? 's3:GetObject' : undefined;
    if (!action) throw new Error(`the IAM audit has no mapping for s3 ${call.method} ${call.path} (call ${call.seq}): add one to s3Requests in test/support/iam-audit.ts`);
    return [{ action, resource: `${bucketArn}/${key}`, context: {} }];
  }
  if (call.method === 'HEAD' || (call.method === 'GET' && [...q.keys()].every((k) => ['list-type', 'prefix', 'x-id'].includes(k)))) return onBucket('s3:ListBucket');
  if (call.method === 'PUT' && q.has('publicAccessBlock')) return onBucket('s3:PutBucketPublicAccessBlock');
  if (call.method === 'PUT' && q.has('encryption')) return onBucket('s3:PutEncryptionConfiguration');
  if (call.method === 'PUT' && q.has('policy')) return onBucket('s3:PutBucketPolicy');
  if (call.method === 'PUT' && [...q.keys()].every((k) => k === 'x-id')) return onBucket('s3:CreateBucket');
  throw new Error(`the IAM audit has no mapping for s3 ${call.method} ${call.path} (call ${call.seq}): add one to s3Requests in test/support/iam-audit.ts`);
}

/** Route 53's normalized form of a record name for the condition key: lower case, no trailing dot, other characters as \ooo. */
export function normalizedRecordName(name: string): string {
  const plain = name.replace(/\.$/, '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))).toLowerCase();
  return plain.replace(/[^a-z0-9_.-]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The changes of a ChangeResourceRecordSets body: action, name, type of each. */
export function changesOf(xml: string): { action: string; name: string; type: string }[] {
  return [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map(([, c]) => ({
    action: /<Action>([^<]*)<\/Action>/.exec(c ?? '')?.[1] ?? '',
    name: /<Name>([^<]*)<\/Name>/.exec(c ?? '')?.[1] ?? '',
    type: /<Type>([^<]*)<\/Type>/.exec(c ?? '')?.[1] ?? '',
  }));
}

const unique = (xs: string[]) => [...new Set(xs)].sort();

/** Each call the code makes → the IAM requests AWS authorises for it. */
export const CALLS: Record<string, Mapper> = {
  'ec2:DescribeInstances': star('ec2:DescribeInstances'),
  'ec2:DescribeAddresses': star('ec2:DescribeAddresses'),
  'ec2:DescribeImages': star('ec2:DescribeImages'),
  'ec2:DescribeVpcs': star('ec2:DescribeVpcs'),
  // AssociateAddress is authorised against the Elastic IP and against the instance or network
  // interface, each with its own tags (aws:ResourceTag/…).
  'ec2:AssociateAddress': (call, where) => {
    const p = form(call);
    const arns = [
      ...listed(p, 'AllocationId').map((id) => ec2Arn(where, 'elastic-ip', id)),
      ...listed(p, 'InstanceId').map((id) => ec2Arn(where, 'instance', id)),
      ...listed(p, 'NetworkInterfaceId').map((id) => ec2Arn(where, 'network-interface', id)),
    ];
    return arns.map((resource) => ({ action: 'ec2:AssociateAddress', resource, context: tagContext(call, resource) }));
  },
  'ec2:StartInstances': instances('ec2:StartInstances'),
  'ec2:StopInstances': instances('ec2:StopInstances'),
  'ec2:GetConsoleOutput': instances('ec2:GetConsoleOutput'),
  // Authorised against each instance (an EC2 instance ARN, with its tags) and against the
  // document; an AWS-owned document's ARN has no account (SSM's "Resource types" table).
  'ssm:SendCommand': (call, where) => {
    const body = json(call);
    const ids = Array.isArray(body.InstanceIds) ? body.InstanceIds.map(String) : [];
    const doc = String(body.DocumentName ?? '');
    if (!doc) throw new Error(`call ${call.seq} SendCommand: no DocumentName in its body`);
    const documentArn = doc.startsWith('arn:') ? doc : `arn:aws:ssm:${where.region}:${/^(AWS|Amazon)/.test(doc) ? '' : where.account}:document/${doc}`;
    return [
      ...ids.map((id) => {
        const resource = ec2Arn(where, 'instance', id);
        // Run Command documents its tag condition as ssm:resourceTag/…; AWS sets aws:ResourceTag/… too.
        const tags = tagContext(call, resource);
        return { action: 'ssm:SendCommand', resource, context: { ...tags, ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.replace(/^aws:ResourceTag\//, 'ssm:resourceTag/'), v])) } };
      }),
      { action: 'ssm:SendCommand', resource: documentArn, context: {} },
    ];
  },
  // No resource type: authorised on "*".
  'ssm:GetCommandInvocation': star('ssm:GetCommandInvocation'),
  // ssm:Overwrite is set from the request's Overwrite flag when it carries one.
  'ssm:PutParameter': (call, where) => {
    const overwrite = json(call).Overwrite;
    const context: Record<string, string> = typeof overwrite === 'boolean' ? { 'ssm:Overwrite': String(overwrite) } : {};
    return ssmNames('ssm:PutParameter', 'Name')(call, where).map((r) => ({ ...r, context }));
  },
  'ssm:GetParameter': ssmNames('ssm:GetParameter', 'Name'),
  'ssm:DeleteParameter': ssmNames('ssm:DeleteParameter', 'Name'),
  'ssm:GetParameters': ssmNames('ssm:GetParameters', 'Names'),
  'ssm:DeleteParameters': ssmNames('ssm:DeleteParameters', 'Names'),
  // Authorised against the path itself (AWS-NOTES.md).
  'ssm:GetParametersByPath': ssmNames('ssm:GetParametersByPath', 'Path'),
  'route53:ChangeResourceRecordSets': (call) => {
    const changes = changesOf(call.body);
    if (changes.length === 0) throw new Error(`call ${call.seq} ChangeResourceRecordSets: no change in its body`);
    return [
      {
        action: 'route53:ChangeResourceRecordSets',
        resource: zoneOf(call),
        context: {
          'route53:ChangeResourceRecordSetsRecordTypes': unique(changes.map((c) => c.type)),
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': unique(changes.map((c) => normalizedRecordName(c.name))),
          'route53:ChangeResourceRecordSetsActions': unique(changes.map((c) => c.action)),
        },
      },
    ];
  },
  'route53:ListResourceRecordSets': (call) => [{ action: 'route53:ListResourceRecordSets', resource: zoneOf(call), context: {} }],
  'route53:GetHostedZone': (call) => [{ action: 'route53:GetHostedZone', resource: zoneOf(call), context: {} }],
  'route53:ListHostedZones': star('route53:ListHostedZones'),
  'route53:GetChange': (call) => [{ action: 'route53:GetChange', resource: `arn:aws:route53:::change/${/\/change\/([^/]+)/.exec(call.path)?.[1] ?? ''}`, context: {} }],
  // The queue named by its URL (https://sqs.<region>.amazonaws.com/<account>/<name>, or moto's form).
  'sqs:ChangeMessageVisibility': sqsQueue('sqs:ChangeMessageVisibility'),
  // A batch call is authorised as its single-message action (SQS API reference, "Batch actions").
  'sqs:ChangeMessageVisibilityBatch': sqsQueue('sqs:ChangeMessageVisibility'),
  'sqs:DeleteMessage': sqsQueue('sqs:DeleteMessage'),
  'sqs:ReceiveMessage': sqsQueue('sqs:ReceiveMessage'),
  'sqs:GetQueueAttributes': sqsQueue('sqs:GetQueueAttributes'),
  'sqs:SendMessage': sqsQueue('sqs:SendMessage'),
  'iam:ListAccountAliases': star('iam:ListAccountAliases'),
  'cloudformation:ListStackInstances': stackSet('cloudformation:ListStackInstances'),
  'cloudformation:DescribeStackSet': stackSet('cloudformation:DescribeStackSet'),
  'cloudformation:UpdateStackSet': stackSet('cloudformation:UpdateStackSet'),
  'cloudformation:CreateStackInstances': stackSet('cloudformation:CreateStackInstances'),
  'cloudformation:DescribeStackSetOperation': stackSet('cloudformation:DescribeStackSetOperation'),
  'cloudformation:ListStackSetOperationResults': stackSet('cloudformation:ListStackSetOperationResults'),
  // No resource type. A self-managed StackSet without AdministrationRoleARN uses the account's
  // AWSCloudFormationStackSetAdministrationRole, which the caller passes to CloudFormation
  // (CloudFormation User Guide, "Grant self-managed permissions").
  'cloudformation:CreateStackSet': (call, where) => {
    const p = form(call);
    const requests: IamRequest[] = [{ action: 'cloudformation:CreateStackSet', resource: '*', context: {} }];
    if (p.get('PermissionModel') !== 'SERVICE_MANAGED') {
      const role = p.get('AdministrationRoleARN') ?? `arn:aws:iam::${where.account}:role/AWSCloudFormationStackSetAdministrationRole`;
      requests.push({ action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } });
    }
    return requests;
  },
  'cloudformation:DescribeStacks': stack('cloudformation:DescribeStacks'),
  'cloudformation:GetTemplate': stack('cloudformation:GetTemplate'),
  'cloudformation:DescribeStackEvents': stack('cloudformation:DescribeStackEvents'),
  'cloudformation:DescribeStackResources': stack('cloudformation:DescribeStackResources'),
  'cloudformation:DeleteStack': stack('cloudformation:DeleteStack'),
  // The change set actions are authorised on the stack, with the change set's name as cloudformation:ChangeSetName.
  'cloudformation:CreateChangeSet': stack('cloudformation:CreateChangeSet'),
  'cloudformation:DescribeChangeSet': stack('cloudformation:DescribeChangeSet'),
  'cloudformation:ExecuteChangeSet': stack('cloudformation:ExecuteChangeSet'),
  'cloudformation:DeleteChangeSet': stack('cloudformation:DeleteChangeSet'),
  'cloudformation:ValidateTemplate': star('cloudformation:ValidateTemplate'),
  // `ec2ip doctor`'s reads and --redrive.
  // A rule of the default bus is rule/<name>, of another bus rule/<bus>/<name> (EventBridge's "Resource types").
  'events:DescribeRule': eventsRule('events:DescribeRule', 'Name'),
  'events:ListTargetsByRule': eventsRule('events:ListTargetsByRule', 'Rule'),
  'events:DescribeEventBus': (call, where) => {
    const name = String(json(call).Name ?? 'default');
    return [{ action: 'events:DescribeEventBus', resource: name.startsWith('arn:') ? name : `arn:aws:events:${where.region}:${where.account}:event-bus/${name}`, context: {} }];
  },
  'logs:FilterLogEvents': (call, where) => {
    const group = String(json(call).logGroupName ?? '');
    if (!group) throw new Error(`call ${call.seq} FilterLogEvents: no logGroupName in its body`);
    return [{ action: 'logs:FilterLogEvents', resource: `arn:aws:logs:${where.region}:${where.account}:log-group:${group}`, context: {} }];
  },
  // No resource type: authorised on "*".
  'monitoring:GetMetricData': star('cloudwatch:GetMetricData'),
  'lambda:GET /2015-03-31/event-source-mappings': star('lambda:ListEventSourceMappings'),
  'sqs:ListMessageMoveTasks': sqsArn('sqs:ListMessageMoveTasks', 'SourceArn'),
  // The move runs with the caller's permissions: it reads and deletes from the source and sends to
  // the destination (SQS Developer Guide, "Configure a dead-letter queue redrive": required permissions).
  'sqs:StartMessageMoveTask': (call, where) => {
    const source = sqsArn('sqs:StartMessageMoveTask', 'SourceArn')(call, where)[0] as IamRequest;
    const destination = String(json(call).DestinationArn ?? '');
    if (!destination) throw new Error(`call ${call.seq} StartMessageMoveTask: no DestinationArn (a move back to each message's source queue is not mapped)`);
    return [
      source,
      ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].map((action) => ({ ...source, action })),
      { action: 'sqs:SendMessage', resource: destination, context: {} },
    ];
  },
  // Needs no permission: AWS answers it for any valid credentials.
  'sts:GetCallerIdentity': () => [],
  // The trust policy of the role assumed is evaluated too (see evaluateCall).
  'sts:AssumeRole': (call) => {
    const p = form(call);
    const externalId = p.get('ExternalId');
    const context: Record<string, string> = externalId ? { 'sts:ExternalId': externalId } : {};
    return [{ action: 'sts:AssumeRole', resource: p.get('RoleArn') ?? '', context }];
  },
};

/** The IAM requests of a call; a call without a mapping throws, saying where to add it. */
export function iamRequests(call: RecordedCall, where: Where): IamRequest[] {
  if (call.service === 's3') return s3Requests(call);
  const mapper = CALLS[`${call.service}:${call.action}`];
  if (!mapper) {
    throw new Error(
      `the IAM audit has no mapping for ${call.service}:${call.action} (call ${call.seq}, ${call.method} ${call.path}): ` +
        'add one to CALLS in test/support/iam-audit.ts (its IAM action, resource ARNs and condition keys)',
    );
  }
  return mapper(call, where);
}

// ---------------------------------------------------------------- principals

/** Who makes a call: the role's ARN as a session, where it acts, and its policies. */
export interface Principal {
  description: string;
  arn: string;
  account: string;
  policies: NamedPolicy[];
}

export type AuditKind = 'function' | 'hub' | 'cli' | 'deployer';

/** The person's policies the docs quote: reading (README, docs/scripts.md), connecting and `known-hosts --via ssm` (docs/connecting.md). */
export const USER_POLICIES = {
  read: 'infra/user-policy.json',
  connect: 'infra/user-policy-connect.json',
  hostKeysSsm: 'infra/user-policy-host-keys-ssm.json',
  /** `ec2ip deploy`'s own calls (docs/deploying.md). */
  deploy: 'infra/user-policy-deploy.json',
  /** `ec2ip reconcile`'s writes, with the read policy (docs/scripts.md); `plan` needs the read policy alone. */
  reconcile: 'infra/user-policy-reconcile.json',
  /** `ec2ip doctor`'s reads and `--redrive` (docs/troubleshooting.md). */
  doctor: 'infra/user-policy-doctor.json',
  /** `plan` and `reconcile` over a hub's spokes, as the spokes' OperatorArn (docs/many-accounts.md). */
  hubOperator: 'infra/user-policy-hub-operator.json',
} as const;
export type UserPolicyFile = (typeof USER_POLICIES)[keyof typeof USER_POLICIES];

/** The access key of the person running the CLI in tests where others (the Lambda, the test's setup) use `test`. */
export const USER_ACCESS_KEY = 'AKIAEC2IPUSERTEST001';

/**
 * The person running the CLI: a user with the policies `files` (default: the read policy,
 * infra/user-policy.json), with the edits the docs tell the person to make (`edits`: text →
 * replacement, e.g. a zone id for PUBLIC_ZONE_ID, or another prefix for `parameter/ec2ip`).
 */
export function userPrincipal(files: readonly UserPolicyFile[] = [USER_POLICIES.read], codeBucket?: string, edits: Record<string, string> = {}): Principal {
  const read = (name: string) => {
    let text = readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
    // docs/deploying.md: with --bucket, the deployer's policy names that bucket instead of ec2ip-artifacts-*.
    if (codeBucket) text = text.replaceAll('arn:aws:s3:::ec2ip-artifacts-*', `arn:aws:s3:::${codeBucket}`);
    for (const [from, to] of Object.entries(edits)) text = text.replaceAll(from, to);
    return JSON.parse(text) as NamedPolicy['policy'];
  };
  const policies = files.map((name) => ({ name, policy: read(name) }));
  return { description: `a user with ${files.join(' + ')}`, arn: `arn:aws:iam::${AUDIT_ACCOUNT}:user/ec2ip-user`, account: AUDIT_ACCOUNT, policies };
}

/** The stack the single-account function or the hub runs in, for the function's environment `env`. */
export function ownStack(kind: 'function' | 'hub', env: Record<string, string | undefined>, region: string): ResolvedStack {
  const template: TemplateName = kind === 'function' ? 'template' : 'hub';
  // The hub tests' spokes trust the role of a hub stack named `ec2ip` (HUB_ROLE_ARN); OWNER_ID is only the owner in the TXT.
  const stackName = kind === 'hub' ? HUB_STACK : env.OWNER_ID || 'ec2ip';
  return resolveStack(template, { account: AUDIT_ACCOUNT, region, stackName, params: { ...REQUIRED[template], ...paramsFromFunctionEnv(template, env) } });
}

/** A spoke stack of infra/spoke.yaml as the hub tests deploy it in `account` and `region`. */
export function spokeStack(account: string, region: string, params: Record<string, string> = {}): ResolvedStack {
  return resolveStack('spoke', {
    account,
    region,
    stackName: 'ec2ip-spoke',
    params: {
      HubEventBusArn: `arn:aws:events:us-east-1:${AUDIT_ACCOUNT}:event-bus/ec2ip-spokes`,
      HubFunctionRoleArn: `arn:aws:iam::${AUDIT_ACCOUNT}:role/${HUB_STACK}-hub-us-east-1`,
      ExternalId: SPOKE_EXTERNAL_ID,
      ...params,
    },
  });
}

/** The spoke stack behind a spoke role ARN (`arn:aws:iam::<account>:role/ec2ip-spoke-<region>`), deployed with `params` beyond the hub tests' own. */
export function spokeOfRole(arn: string, params: Record<string, string> = {}): ResolvedStack | undefined {
  const m = new RegExp(`^arn:aws:iam::(\\d{12}):role/${SPOKE_ROLE_NAME}-([a-z0-9-]+)$`).exec(arn);
  return m ? spokeStack(m[1] as string, m[2] as string, params) : undefined;
}

function sessionArn(role: string, session: string): string {
  const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(role);
  if (!m) throw new Error(`not a role ARN: ${role}`);
  return `arn:aws:sts::${m[1]}:assumed-role/${m[2]}/${session}`;
}

/** The function role of a stack as a principal. */
export function functionPrincipal(stack: ResolvedStack): Principal {
  const role = roleArn(stack, 'SyncFunctionRole');
  return { description: `${role} (infra/${stack.template}.yaml SyncFunctionRole)`, arn: sessionArn(role, stack.stackName), account: stack.account, policies: rolePolicies(stack, 'SyncFunctionRole') };
}

/** The spoke role of a spoke stack as a principal. */
export function spokePrincipal(stack: ResolvedStack, session = 'ec2ip-hub'): Principal {
  const role = roleArn(stack, 'SpokeRole');
  return { description: `${role} (infra/spoke.yaml SpokeRole)`, arn: sessionArn(role, session), account: stack.account, policies: rolePolicies(stack, 'SpokeRole') };
}

// ---------------------------------------------------------------- evaluation

export interface Decision {
  request: IamRequest;
  result: string;
  /** Set when the simulator refused the input (an unknown action, resource type or condition key). */
  error?: string;
}

function accountOfArn(arn: string, fallback: string): string {
  return /^arn:aws[a-z-]*:[^:]*:[^:]*:(\d{12}):/.exec(arn)?.[1] ?? fallback;
}

/** Evaluates one IAM request of `principal` (with a resource policy, e.g. a trust policy, if given). */
export async function simulate(principal: Principal, request: IamRequest, resourcePolicy?: unknown): Promise<Decision> {
  // An AWS-owned SSM document's ARN has no account (arn:aws:ssm:<region>::document/AWS-…), which
  // the simulator cannot match to a resource type; it gets the placeholder account `aws`, which a
  // policy's `*` matches as it matches the empty one, and a policy naming an account does not.
  const resource = request.resource.replace(/^(arn:aws[a-z-]*:ssm:[^:]*)::document\//, '$1:aws:document/');
  const simulation: Simulation = {
    request: {
      principal: principal.arn,
      action: request.action,
      resource: { resource, accountId: accountOfArn(request.resource, principal.account) },
      contextVariables: { 'aws:PrincipalArn': principal.arn.replace(/^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2'), 'aws:PrincipalAccount': principal.account, ...request.context },
    },
    identityPolicies: principal.policies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const out = await runSimulation(simulation, {});
  if (out.resultType === 'error') return { request, result: 'error', error: JSON.stringify(out.errors) };
  return { request, result: out.overallResult };
}

// The fault and ordering tests repeat the same calls hundreds of times (retries,
// redeliveries, reconciles); one simulation per principal and request keeps the audit cheap.
const decisions = new WeakMap<Principal, Map<string, Promise<Decision>>>();
function simulateOnce(principal: Principal, request: IamRequest, resourcePolicy?: unknown): Promise<Decision> {
  const cache = decisions.get(principal) ?? new Map<string, Promise<Decision>>();
  decisions.set(principal, cache);
  const key = JSON.stringify([request.action, request.resource, request.context, resourcePolicy ?? null]);
  let d = cache.get(key);
  if (!d) cache.set(key, (d = simulate(principal, request, resourcePolicy)));
  return d;
}

/** Evaluates a recorded call; returns a failure message per request that is not Allowed. `spokeParams`: as for {@link spokeOfRole}. */
export async function evaluateCall(call: RecordedCall, principal: Principal, spokeParams: Record<string, string> = {}): Promise<string[]> {
  const failures: string[] = [];
  const requests = iamRequests(call, { account: principal.account, region: call.region });
  for (const request of requests) {
    let resourcePolicy: unknown;
    if (request.action === 'sts:AssumeRole') {
      const target = spokeOfRole(request.resource, spokeParams);
      if (!target) {
        failures.push(`call ${call.seq} sts:AssumeRole of ${request.resource}: a role no template of infra/ defines`);
        continue;
      }
      resourcePolicy = trustPolicy(target, 'SpokeRole');
    }
    const d = await simulateOnce(principal, request, resourcePolicy);
    if (d.result === 'Allowed') continue;
    const context = Object.keys(request.context).length ? ` when ${JSON.stringify(request.context)}` : '';
    failures.push(
      `call ${call.seq} ${call.service}:${call.action} (${call.method} ${call.path}) by ${principal.description} is ${d.error ? `not evaluable: ${d.error}` : d.result}: ` +
        `no statement of [${principal.policies.map((p) => p.name).join(', ')}]${resourcePolicy ? ' and the trust policy' : ''} allows ${request.action} on ${request.resource}${context}`,
    );
  }
  return failures;
}

// ---------------------------------------------------------------- the recorder

/** Environment variables that configure the templates' functions. */
const FUNCTION_ENV = (['template', 'hub'] as const).flatMap((t) => {
  const doc = templateDocument(t);
  const fn = Object.values(doc.Resources as Record<string, unknown>).find((r) => isObj(r) && r.Type === 'AWS::Lambda::Function');
  const vars = isObj(fn) && isObj(fn.Properties) && isObj(fn.Properties.Environment) && isObj(fn.Properties.Environment.Variables) ? fn.Properties.Environment.Variables : {};
  return Object.keys(vars);
});

const accessKeyOf = (authorization: string | string[] | undefined) => /Credential=([^/,\s]+)\//.exec(String(authorization ?? ''))?.[1] ?? '';

export interface IamAudit {
  /** Calls evaluated so far in this file (all allowed, or the test that made them failed). */
  readonly evaluated: number;
  /** The calls recorded in the current test, not yet evaluated. */
  readonly pending: readonly RecordedCall[];
  /** Forgets the calls recorded so far in this test: a setup made by someone else (the Lambda publishing before a CLI test). */
  reset(): void;
  /** The recorder, for a test's own proxy (`startProxy({ ..., ...audit.hooks })`): its calls are evaluated too, answered ones included. */
  readonly hooks: { inspect: (raw: RawRequest) => Promise<void>; observe: (raw: RawRequest, status: number, body: Buffer) => void };
  /**
   * For `cli`: the edits the docs tell the person to make to the policy files (text → replacement:
   * their zone ids for PUBLIC_ZONE_ID and PRIVATE_ZONE_ID, another prefix or stack name), for the
   * calls made from now on until the test ends.
   */
  edit(edits: Record<string, string>): void;
}

export interface IamAuditOptions {
  /** Only calls signed with this access key are recorded (for `cli`: the person's, {@link USER_ACCESS_KEY}); others pass unexamined. */
  accessKeyId?: string;
  /** For `cli`: the person's policies (default: the read policy). */
  policies?: readonly UserPolicyFile[];
  /** For `deployer`: the bucket given with --bucket, which replaces ec2ip-artifacts-* in infra/user-policy-deploy.json. */
  codeBucket?: string;
  /** The parameters the test's spoke stacks were deployed with beyond the hub tests' own (test/support/hub.ts), e.g. OperatorArn. */
  spokeParams?: Record<string, string>;
}

/**
 * Call in a describe after `useMoto()`: routes the code under test (the SDK's standard
 * environment) through a recording proxy and, after each test, evaluates every call it made
 * against the policies of the role that made it. A call that would be denied fails the test.
 */
export function useIamAudit(kind: AuditKind, options: IamAuditOptions = {}): IamAudit {
  let proxy: AwsProxy | undefined;
  let saved: string | undefined;
  const calls: RecordedCall[] = [];
  /** Access keys handed out by an AssumeRole the audit saw → the role assumed. */
  const assumed = new Map<string, { role: string; session: string }>();
  let edits: Record<string, string> = {};
  const state = { evaluated: 0, pending: calls as readonly RecordedCall[], reset: () => void calls.splice(0), hooks: { inspect, observe }, edit: (e: Record<string, string>) => void (edits = { ...e }) };

  async function inspect(raw: RawRequest): Promise<void> {
    const accessKeyId = accessKeyOf(raw.headers.authorization);
    if (!audited(accessKeyId)) return;
    const env = Object.fromEntries(FUNCTION_ENV.map((k) => [k, process.env[k]]));
    const call: RecordedCall = {
      seq: calls.length + 1,
      service: raw.service,
      action: raw.action,
      region: raw.region ?? process.env.AWS_REGION ?? 'us-east-1',
      method: raw.method,
      path: raw.path,
      body: raw.body,
      accessKeyId,
      env,
      tags: {},
      edits,
    };
    calls.push(call);
    if ((raw.service === 'ec2' && ['AssociateAddress', 'StartInstances', 'StopInstances', 'GetConsoleOutput'].includes(raw.action)) || (raw.service === 'ssm' && raw.action === 'SendCommand')) await lookUpTags(call, raw);
  }

  /** The tags of the address and instances a call names, read from moto with the caller's own credentials. */
  async function lookUpTags(call: RecordedCall, raw: RawRequest): Promise<void> {
    const token = raw.headers['x-amz-security-token'];
    const ec2 = new EC2Client({
      endpoint: motoEndpoint(),
      region: call.region,
      credentials: { accessKeyId: call.accessKeyId, secretAccessKey: 'audit', ...(typeof token === 'string' ? { sessionToken: token } : {}) },
    });
    const p = new URLSearchParams(call.body);
    const account = accessKeyAccount(call.accessKeyId);
    const allocations = listed(p, 'AllocationId');
    if (allocations.length) {
      const { Addresses = [] } = await ec2.send(new DescribeAddressesCommand({ AllocationIds: allocations })).catch(() => ({ Addresses: [] }));
      for (const a of Addresses) call.tags[`arn:aws:ec2:${call.region}:${account}:elastic-ip/${a.AllocationId}`] = Object.fromEntries((a.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    }
    const sent = raw.service === 'ssm' ? json(call).InstanceIds : undefined;
    const ids = Array.isArray(sent) ? sent.map(String) : listed(p, 'InstanceId');
    if (ids.length) {
      const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })).catch(() => ({ Reservations: [] }));
      for (const i of Reservations.flatMap((r) => r.Instances ?? [])) call.tags[`arn:aws:ec2:${call.region}:${account}:instance/${i.InstanceId}`] = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    }
    ec2.destroy();
  }

  function accessKeyAccount(key: string): string {
    const role = assumed.get(key)?.role;
    return role ? (/^arn:aws:iam::(\d{12}):/.exec(role)?.[1] ?? AUDIT_ACCOUNT) : AUDIT_ACCOUNT;
  }

  /** With `accessKeyId`, only that key and the keys its own AssumeRoles handed out are audited. */
  function audited(accessKeyId: string): boolean {
    return options.accessKeyId === undefined || accessKeyId === options.accessKeyId || assumed.has(accessKeyId);
  }

  function observe(raw: RawRequest, status: number, body: Buffer): void {
    if (raw.service !== 'sts' || raw.action !== 'AssumeRole' || status !== 200 || !audited(accessKeyOf(raw.headers.authorization))) return;
    const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(body.toString('utf8'))?.[1];
    const p = new URLSearchParams(raw.body);
    if (key) assumed.set(key, { role: p.get('RoleArn') ?? '', session: p.get('RoleSessionName') ?? 'session' });
  }

  // One principal per role, environment and documented edit, so that its decisions are cached (simulateOnce).
  const principals = new Map<string, Principal>();
  function principalOf(call: RecordedCall): Principal {
    const key = JSON.stringify([call.accessKeyId, assumed.get(call.accessKeyId) ?? null, call.env, call.region, call.edits]);
    let p = principals.get(key);
    if (!p) principals.set(key, (p = resolvePrincipal(call)));
    return p;
  }
  function resolvePrincipal(call: RecordedCall): Principal {
    const session = assumed.get(call.accessKeyId);
    if (session) {
      const spoke = spokeOfRole(session.role, options.spokeParams);
      if (!spoke) throw new Error(`call ${call.seq} ${call.service}:${call.action} is made as ${session.role}, a role no template of infra/ defines`);
      return spokePrincipal(spoke, session.session);
    }
    if (call.accessKeyId !== 'test' && call.accessKeyId !== options.accessKeyId) throw new Error(`call ${call.seq} ${call.service}:${call.action} uses access key ${call.accessKeyId}, which no audited AssumeRole handed out`);
    if (kind === 'deployer') return userPrincipal([USER_POLICIES.deploy], options.codeBucket);
    return kind === 'cli' ? userPrincipal(options.policies, undefined, call.edits) : functionPrincipal(ownStack(kind, call.env, call.region));
  }

  beforeAll(async () => {
    proxy = await startProxy({ target: motoEndpoint(), inspect, observe });
    saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
  });
  let evaluationMs = 0;
  afterEach(async () => {
    const batch = calls.splice(0);
    edits = {};
    const failures: string[] = [];
    const t0 = performance.now();
    for (const call of batch) failures.push(...(await evaluateCall(call, principalOf(call), options.spokeParams)));
    evaluationMs += performance.now() - t0;
    state.evaluated += batch.length;
    if (failures.length) throw new Error(`IAM would deny ${failures.length} call(s) this test made:\n${failures.join('\n')}`);
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
    await proxy?.stop();
    // IAM_AUDIT_COUNT=1 prints what each file's audit evaluated (the figures of the review notes).
    if (process.env.IAM_AUDIT_COUNT) console.log(`iam-audit (${kind}): ${state.evaluated} calls evaluated, ${[...principals.values()].reduce((n, p) => n + (decisions.get(p)?.size ?? 0), 0)} distinct requests simulated, ${Math.round(evaluationMs)} ms evaluating`);
    // The audit must have seen the code's calls: zero would mean it was bypassed.
    if (state.evaluated === 0) throw new Error(`the IAM audit (${kind}) evaluated no call in this file: is AWS_ENDPOINT_URL set after useIamAudit?`);
  });
  return state;
}
