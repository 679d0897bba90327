/**
 * `ec2ip deploy --spokes`: the spoke template (infra/spoke.yaml) as a CloudFormation StackSet
 * over organizational units (service-managed, with automatic deployment to accounts that
 * join them later) or listed accounts (self-managed), in the given regions. Creates or
 * updates the StackSet, adds the stack instances, and follows each operation with its
 * progress per account and region; a failed instance is reported with its reason.
 */
import { readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  DescribeStackSetCommand,
  DescribeStackSetOperationCommand,
  ListStackInstancesCommand,
  ListStackSetOperationResultsCommand,
  UpdateStackSetCommand,
  type CallAs,
  type Parameter,
  type StackInstanceSummary,
  type StackSetOperationResultSummary,
} from '@aws-sdk/client-cloudformation';
import { readSpokeExternalId } from '../../functions/core/config.js';
import { explainAwsError } from '../cli/aws-errors.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { formatTable } from '../cli/table.js';
import { locate } from './build.js';
import { describeStack, type DeployedStack } from './stack.js';

export const SPOKES_OPTIONS = {
  spokes: { type: 'boolean' },
  'organizational-unit': { type: 'string', multiple: true },
  accounts: { type: 'string' },
  regions: { type: 'string' },
  'stack-set-name': { type: 'string' },
  'hub-event-bus-arn': { type: 'string' },
  'hub-function-role-arn': { type: 'string' },
  'operator-arn': { type: 'string' },
  'call-as': { type: 'string' },
} as const;

export const SPOKES_HELP = `
The spokes (a StackSet of infra/spoke.yaml, run where StackSets are managed):
  --spokes                     create or update the spokes' StackSet and its stack instances
  --organizational-unit ou-…   target OUs (repeat or comma-separate): service-managed,
                               new accounts of the OUs get a spoke automatically
  --accounts A,…               or: target accounts (self-managed permissions)
  --regions R,…                the regions of the spokes (required)
  --stack-set-name NAME        default <stack-name>-spokes
  --hub-event-bus-arn ARN      the hub's outputs (default: read from the hub stack
  --hub-function-role-arn ARN  --stack-name in this account and region)
  --spoke-external-id ID       as given to the hub; --spoke-role-name, --prefix and
                               --enable-elastic-ip as for the hub
  --operator-arn ARN           a role or user that may assume the spoke roles too (same
                               external id), to run plan and reconcile over the spokes
  --call-as SELF|DELEGATED_ADMIN  as the management account (default) or a delegated admin
`;

interface SpokesValues {
  'organizational-unit'?: string[];
  accounts?: string;
  regions?: string;
  'stack-set-name'?: string;
  'stack-name'?: string;
  'hub-event-bus-arn'?: string;
  'hub-function-role-arn'?: string;
  'operator-arn'?: string;
  'call-as'?: string;
  'spoke-external-id'?: string;
  'spoke-role-name'?: string;
  prefix?: string;
  'enable-elastic-ip'?: boolean;
  region?: string;
  json?: boolean;
}

/** How the StackSet's operations roll out: regions in parallel, a quarter of the accounts at a time, tolerating a tenth failing. */
export const OPERATION_PREFERENCES = { RegionConcurrencyType: 'PARALLEL', MaxConcurrentPercentage: 25, FailureTolerancePercentage: 10 } as const;

/** What to deploy where: validated flags. */
export interface SpokesPlan {
  stackSetName: string;
  organizationalUnits: string[];
  accounts: string[];
  regions: string[];
  parameters: Parameter[];
  callAs?: CallAs;
}

const splitList = (values: readonly string[] | string | undefined): string[] =>
  (Array.isArray(values) ? values : values === undefined ? [] : [values]).flatMap((v: string) => v.split(',')).map((v) => v.trim()).filter(Boolean);

/** Reads and checks the flags; the hub's outputs come from the flags or `hubOutputs`. */
export function planSpokes(values: SpokesValues, env: Record<string, string | undefined>, hubOutputs: Record<string, string> = {}): SpokesPlan {
  const organizationalUnits = splitList(values['organizational-unit']);
  const accounts = splitList(values.accounts);
  const regions = splitList(values.regions);
  if (organizationalUnits.length > 0 === accounts.length > 0) throw new UsageError('--spokes needs its targets: --organizational-unit ou-… (service-managed) or --accounts A,… (self-managed), not both');
  for (const ou of organizationalUnits) if (!/^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/.test(ou)) throw new UsageError(`--organizational-unit ${ou} is not an OU id (ou-abcd-12345678) or a root id (r-abcd)`);
  for (const a of accounts) if (!/^\d{12}$/.test(a)) throw new UsageError(`--accounts ${a} is not a 12-digit account id`);
  if (regions.length === 0) throw new UsageError('--spokes needs --regions us-east-1,eu-west-1,…');
  for (const r of regions) if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(r)) throw new UsageError(`--regions ${r} is not a region`);
  const callAs = values['call-as'];
  if (callAs !== undefined && callAs !== 'SELF' && callAs !== 'DELEGATED_ADMIN') throw new UsageError('--call-as must be SELF or DELEGATED_ADMIN');
  const stackSetName = values['stack-set-name'] ?? `${values['stack-name'] ?? 'ec2ip'}-spokes`;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackSetName)) throw new UsageError(`--stack-set-name ${stackSetName} is not a StackSet name`);
  const bus = values['hub-event-bus-arn'] ?? hubOutputs.HubEventBusArn;
  const role = values['hub-function-role-arn'] ?? hubOutputs.HubFunctionRoleArn;
  if (!bus || !role) throw new UsageError(`--spokes needs the hub's outputs: pass --hub-event-bus-arn and --hub-function-role-arn (or run it where the hub stack ${values['stack-name'] ?? 'ec2ip'} is, with --stack-name)`);
  const externalId = values['spoke-external-id'] ?? readSpokeExternalId(env);
  if (!externalId) throw new UsageError('--spokes needs --spoke-external-id (or SPOKE_EXTERNAL_ID): the value the hub was deployed with');
  const parameters: Parameter[] = [
    { ParameterKey: 'HubEventBusArn', ParameterValue: bus },
    { ParameterKey: 'HubFunctionRoleArn', ParameterValue: role },
    { ParameterKey: 'ExternalId', ParameterValue: externalId },
  ];
  if (values['spoke-role-name'] !== undefined) parameters.push({ ParameterKey: 'SpokeRoleName', ParameterValue: values['spoke-role-name'] });
  if (values.prefix !== undefined) parameters.push({ ParameterKey: 'ParameterPrefix', ParameterValue: values.prefix });
  if (values['enable-elastic-ip']) parameters.push({ ParameterKey: 'EnableElasticIp', ParameterValue: 'true' });
  const operator = values['operator-arn'];
  if (operator !== undefined) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/.test(operator)) throw new UsageError(`--operator-arn ${operator} is not an IAM role or user ARN (arn:aws:iam::123456789012:role/ec2ip-operator)`);
    parameters.push({ ParameterKey: 'OperatorArn', ParameterValue: operator });
  }
  return { stackSetName, organizationalUnits, accounts, regions, parameters, ...(callAs ? { callAs } : {}) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The outcome of one StackSet operation, per account and region. */
export interface OperationOutcome {
  status: string;
  results: StackSetOperationResultSummary[];
}

/**
 * Follows an operation until it ends, printing each account and region as its status
 * changes. Results that cannot be read are reported, and the operation's own status still decides.
 */
export async function followOperation(cfn: CloudFormationClient, plan: Pick<SpokesPlan, 'stackSetName' | 'callAs'>, operationId: string, io: Io, pollMs: number, what: string): Promise<OperationOutcome> {
  const callAs = plan.callAs ? { CallAs: plan.callAs } : {};
  const shown = new Map<string, string>();
  let results: StackSetOperationResultSummary[] = [];
  let resultsError: string | undefined;
  io.stderr(`${what}: operation ${operationId}\n`);
  for (;;) {
    let status: string;
    try {
      const out = await cfn.send(new DescribeStackSetOperationCommand({ StackSetName: plan.stackSetName, OperationId: operationId, ...callAs }));
      status = out.StackSetOperation?.Status ?? 'UNKNOWN';
    } catch (error) {
      throw explainAwsError(error, `following the operation ${operationId} of the StackSet ${plan.stackSetName}`);
    }
    try {
      results = await listAll((token) => cfn.send(new ListStackSetOperationResultsCommand({ StackSetName: plan.stackSetName, OperationId: operationId, NextToken: token, ...callAs })), (o) => o.Summaries);
      resultsError = undefined;
    } catch (error) {
      const message = `${(error as Error).name ?? 'Error'}: ${(error as Error).message}`;
      if (message !== resultsError) io.stderr(`  cannot read the results per account and region (${message}); following the operation's status\n`);
      resultsError = message;
    }
    for (const r of results) {
      const key = `${r.Account ?? '?'} ${r.Region ?? '?'}`;
      const line = `${r.Status ?? '?'}${r.StatusReason ? `: ${r.StatusReason}` : ''}`;
      if (shown.get(key) !== line) io.stderr(`  ${(r.Account ?? '?').padEnd(12)}  ${(r.Region ?? '?').padEnd(14)}  ${line}\n`);
      shown.set(key, line);
    }
    if (status !== 'RUNNING' && status !== 'QUEUED' && status !== 'STOPPING') return { status, results };
    await sleep(pollMs);
  }
}

async function listAll<O, T>(page: (token: string | undefined) => Promise<O & { NextToken?: string }>, items: (o: O) => T[] | undefined): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const out = await page(token);
    all.push(...(items(out) ?? []));
    token = out.NextToken;
  } while (token);
  return all;
}

/** The failures of an operation as lines naming the account, the region and the reason. */
export function operationFailures(outcome: OperationOutcome): string[] {
  return outcome.results.filter((r) => r.Status === 'FAILED' || r.Status === 'CANCELLED').map((r) => `  ${r.Account ?? '?'} ${r.Region ?? '?'} ${r.Status}: ${r.StatusReason ?? 'no reason given'}`);
}

function checkOutcome(outcome: OperationOutcome, what: string): void {
  const failures = operationFailures(outcome);
  if (outcome.status === 'SUCCEEDED' && failures.length === 0) return;
  throw new CliError(`${what} ended ${outcome.status}${failures.length > 0 ? `; what failed:\n${failures.join('\n')}` : ''}`, EXIT.failed);
}

/** The StackSet's stack instances; a failure is reported with CloudFormation's reason. */
export async function listSpokeInstances(cfn: CloudFormationClient, plan: Pick<SpokesPlan, 'stackSetName' | 'callAs'>): Promise<StackInstanceSummary[]> {
  try {
    return await listAll((token) => cfn.send(new ListStackInstancesCommand({ StackSetName: plan.stackSetName, NextToken: token, ...(plan.callAs ? { CallAs: plan.callAs } : {}) })), (o) => o.Summaries);
  } catch (error) {
    throw explainAwsError(error, `listing the stack instances of the StackSet ${plan.stackSetName}`);
  }
}

/** Creates or updates the StackSet and its stack instances, following each operation. */
export async function applySpokes(cfn: CloudFormationClient, plan: SpokesPlan, templateBody: string, io: Io, pollMs: number): Promise<StackInstanceSummary[]> {
  const callAs = plan.callAs ? { CallAs: plan.callAs } : {};
  const serviceManaged = plan.organizationalUnits.length > 0;
  let exists: boolean;
  try {
    await cfn.send(new DescribeStackSetCommand({ StackSetName: plan.stackSetName, ...callAs }));
    exists = true;
  } catch (error) {
    if ((error as Error).name !== 'StackSetNotFoundException' && !/not found/i.test((error as Error).message)) throw explainAwsError(error, `reading the StackSet ${plan.stackSetName}`);
    exists = false;
  }
  const common = { StackSetName: plan.stackSetName, TemplateBody: templateBody, Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const, Parameters: plan.parameters, ...callAs };
  try {
    if (!exists) {
      io.stderr(`Creating the StackSet ${plan.stackSetName} (${serviceManaged ? 'service-managed, automatic deployment to new accounts of the OUs' : 'self-managed'})\n`);
      await cfn.send(
        new CreateStackSetCommand({
          ...common,
          Capabilities: [...common.Capabilities],
          Description: 'ec2ip spokes: forward EC2 events to the hub, and a role for the hub',
          PermissionModel: serviceManaged ? 'SERVICE_MANAGED' : 'SELF_MANAGED',
          ...(serviceManaged ? { AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false } } : {}),
        }),
      );
    } else {
      io.stderr(`Updating the StackSet ${plan.stackSetName}\n`);
      const out = await cfn.send(new UpdateStackSetCommand({ ...common, Capabilities: [...common.Capabilities], OperationPreferences: OPERATION_PREFERENCES }));
      if (out.OperationId) checkOutcome(await followOperation(cfn, plan, out.OperationId, io, pollMs, 'Updating the existing stack instances'), `the update of the StackSet ${plan.stackSetName}`);
    }
  } catch (error) {
    throw explainAwsError(error, `${exists ? 'updating' : 'creating'} the StackSet ${plan.stackSetName}`);
  }

  // Self-managed: only the account and region pairs that have no stack instance yet.
  const current = exists && !serviceManaged ? await listSpokeInstances(cfn, plan) : [];
  const missing = serviceManaged ? plan.regions : plan.regions.filter((r) => plan.accounts.some((a) => !current.some((c) => c.Account === a && c.Region === r)));
  const accounts = serviceManaged ? [] : plan.accounts.filter((a) => plan.regions.some((r) => !current.some((c) => c.Account === a && c.Region === r)));
  if (missing.length > 0 && (serviceManaged || accounts.length > 0)) {
    let operationId: string | undefined;
    try {
      const out = await cfn.send(
        new CreateStackInstancesCommand({
          StackSetName: plan.stackSetName,
          ...(serviceManaged ? { DeploymentTargets: { OrganizationalUnitIds: plan.organizationalUnits } } : { Accounts: accounts }),
          Regions: missing,
          OperationPreferences: OPERATION_PREFERENCES,
          ...callAs,
        }),
      );
      operationId = out.OperationId;
    } catch (error) {
      throw explainAwsError(error, `adding stack instances to the StackSet ${plan.stackSetName}`);
    }
    const targets = serviceManaged ? plan.organizationalUnits.join(', ') : accounts.join(', ');
    if (operationId) checkOutcome(await followOperation(cfn, plan, operationId, io, pollMs, `Adding the spokes in ${targets} × ${missing.join(', ')}`), `adding stack instances to the StackSet ${plan.stackSetName}`);
  } else {
    io.stderr('Every account and region already has a spoke\n');
  }
  return listSpokeInstances(cfn, plan);
}

/**
 * The hub stack's HubEventBusArn and HubFunctionRoleArn: its outputs, else (some emulators
 * report no outputs) the names infra/hub.yaml gives them, in the stack's account and region.
 */
export function hubOutputsOf(hub: DeployedStack): Record<string, string> {
  const outputs = Object.fromEntries(hub.outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const [, partition, , region, account] = hub.id.split(':');
  if (!partition || !region || !account || !hub.parameters.SpokeRoleName) return outputs;
  return {
    HubEventBusArn: `arn:${partition}:events:${region}:${account}:event-bus/${hub.name}-spokes`,
    HubFunctionRoleArn: `arn:${partition}:iam::${account}:role/${hub.name}-hub-${region}`,
    ...outputs,
  };
}

/** `ec2ip deploy --spokes …`. */
export async function deploySpokes(values: SpokesValues, io: Io): Promise<number> {
  const cfn = new CloudFormationClient(values.region ? { region: values.region } : {});
  const given = values['hub-event-bus-arn'] !== undefined && values['hub-function-role-arn'] !== undefined;
  let hubOutputs: Record<string, string> = {};
  if (!given) {
    const hub = await describeStack(cfn, values['stack-name'] ?? 'ec2ip');
    if (hub) hubOutputs = hubOutputsOf(hub);
  }
  const plan = planSpokes(values, io.env, hubOutputs);
  const paths = locate();
  let templateBody: string;
  try {
    templateBody = readFileSync(paths.spokeTemplate, 'utf8');
  } finally {
    paths.cleanup?.();
  }
  const pollMs = io.env.AWS_ENDPOINT_URL || io.env.AWS_ENDPOINT_URL_CLOUDFORMATION ? 100 : 5000;
  const instances = await applySpokes(cfn, plan, templateBody, io, pollMs);
  const rows = instances.map((i) => ({ account: i.Account ?? null, region: i.Region ?? null, status: i.Status ?? null, detailedStatus: i.StackInstanceStatus?.DetailedStatus ?? null, reason: i.StatusReason ?? null }));
  if (values.json) io.stdout(`${JSON.stringify({ stackSet: plan.stackSetName, instances: rows }, null, 2)}\n`);
  else io.stdout(formatTable(['ACCOUNT', 'REGION', 'STATUS', 'DETAIL', 'REASON'], rows.map((r) => [r.account ?? '-', r.region ?? '-', r.status ?? '-', r.detailedStatus ?? '-', r.reason ?? ''])));
  const bad = rows.filter((r) => r.status !== 'CURRENT');
  if (bad.length > 0) io.stderr(`${bad.length} stack instance(s) are not CURRENT: see REASON, or aws cloudformation list-stack-instances --stack-set-name ${plan.stackSetName}\n`);
  return EXIT.ok;
}
