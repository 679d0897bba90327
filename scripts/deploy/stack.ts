/**
 * The stack: what is deployed, which parameters to deploy, and the change-set flow
 * (create → wait → show → execute → follow the events → outputs).
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ValidateTemplateCommand,
  type Change,
  type CloudFormationClient,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { parse as parseYaml } from 'yaml';
import { explainAwsError } from '../cli/aws-errors.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { EventWatcher, failureReasons, formatEvent, isSuccess, isTerminal } from './events.js';

export const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;

/** CloudFormation's limit for an inline TemplateBody. */
export const MAX_TEMPLATE_BODY = 51_200;

export interface DeployedStack {
  id: string;
  name: string;
  status: string;
  statusReason?: string;
  parameters: Record<string, string>;
  outputs: Output[];
}

const errorMessage = (e: unknown) => String((e as { message?: string })?.message ?? e);

/** The stack named `name`, or undefined when there is none (or only a deleted one). */
export async function describeStack(cfn: CloudFormationClient, name: string): Promise<DeployedStack | undefined> {
  try {
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    const s = Stacks[0];
    if (!s || s.StackStatus === 'DELETE_COMPLETE') return undefined;
    return {
      id: s.StackId ?? name,
      name: s.StackName ?? name,
      status: s.StackStatus ?? 'UNKNOWN',
      ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}),
      parameters: Object.fromEntries((s.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? ''])),
      outputs: s.Outputs ?? [],
    };
  } catch (error) {
    if (/does not exist/i.test(errorMessage(error))) return undefined;
    throw explainAwsError(error, `reading the stack ${name}`);
  }
}

/** The template the stack was last deployed with (as submitted), if it has one. */
export async function deployedTemplate(cfn: CloudFormationClient, stack: string): Promise<string | undefined> {
  try {
    const { TemplateBody } = await cfn.send(new GetTemplateCommand({ StackName: stack, TemplateStage: 'Original' }));
    if (TemplateBody === undefined) return undefined;
    return typeof TemplateBody === 'string' ? TemplateBody : JSON.stringify(TemplateBody);
  } catch {
    return undefined;
  }
}

/** The template's declared parameters and their defaults (as strings, as CloudFormation reports them). */
export function templateParameters(body: string): Map<string, { default?: string }> {
  let doc: unknown;
  try {
    doc = parseYaml(body, { logLevel: 'silent' });
  } catch (error) {
    throw new CliError(`the template is not valid YAML/JSON: ${errorMessage(error)}`, EXIT.failed, { cause: error });
  }
  const params = (doc as { Parameters?: Record<string, { Default?: unknown }> } | null)?.Parameters ?? {};
  return new Map(Object.entries(params).map(([k, v]) => [k, v?.Default === undefined ? {} : { default: String(v.Default) }]));
}

/**
 * The parameter values to deploy: `given` (flags and the code location) win, then what the
 * stack has now (so an update keeps its settings), then the template's default.
 * Parameters the template does not declare are dropped; a required one without a value is a usage error.
 */
export function resolveParameters(
  declared: Map<string, { default?: string }>,
  given: Record<string, string | undefined>,
  previous: Record<string, string> | undefined,
  flagOf: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, { default: fallback }] of declared) {
    const value = given[key] ?? previous?.[key] ?? fallback;
    if (value === undefined) {
      throw new UsageError(flagOf[key] ? `${flagOf[key]} is required for a new stack` : `the template parameter ${key} has no value`);
    }
    out[key] = value;
  }
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !declared.has(key)) throw new CliError(`the template has no parameter ${key}: is infra/template.yaml out of date?`, EXIT.failed);
  }
  return out;
}

/** True when deploying `body` with `parameters` over what is deployed would change nothing. */
export function sameDeployment(deployedBody: string | undefined, deployedParameters: Record<string, string>, body: string, parameters: Record<string, string>): boolean {
  if (deployedBody === undefined || deployedBody.trimEnd() !== body.trimEnd()) return false;
  const keys = new Set([...Object.keys(deployedParameters), ...Object.keys(parameters)]);
  for (const k of keys) if (deployedParameters[k] !== parameters[k]) return false;
  return true;
}

export async function validateTemplate(cfn: CloudFormationClient, body: string, where: string): Promise<void> {
  if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY) {
    throw new CliError(`${where} is over CloudFormation's ${MAX_TEMPLATE_BODY}-byte limit for an inline template`, EXIT.failed);
  }
  try {
    await cfn.send(new ValidateTemplateCommand({ TemplateBody: body }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError') throw new CliError(`${where} is not a valid template: ${errorMessage(error)}`, EXIT.failed, { cause: error });
    throw explainAwsError(error, `validating ${where}`);
  }
}

/** "Nothing to do" as CloudFormation says it (a FAILED change set, or UpdateStack's error). */
export function isNoChanges(reason: string | undefined): boolean {
  return /didn't contain changes|No updates are to be performed/i.test(reason ?? '');
}

export function formatChanges(changes: Change[]): string[] {
  return changes.map((c) => {
    const r = c.ResourceChange ?? {};
    const replacement = r.Action === 'Modify' && r.Replacement && r.Replacement !== 'False' ? `  replacement: ${r.Replacement}` : '';
    return `  ${(r.Action ?? c.Type ?? '?').padEnd(8)} ${(r.LogicalResourceId ?? '').padEnd(28)} ${r.ResourceType ?? ''}${replacement}`.trimEnd();
  });
}

/** `name: old → new` for every parameter that changes (all of them for a new stack). */
export function parameterChanges(previous: Record<string, string> | undefined, next: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(next)) {
    const old = previous?.[k];
    if (old === v) continue;
    lines.push(previous && old !== undefined ? `  ${k}: ${JSON.stringify(old)} -> ${JSON.stringify(v)}` : `  ${k}: ${JSON.stringify(v)}`);
  }
  return lines;
}

export interface DeployStackInput {
  cfn: CloudFormationClient;
  stackName: string;
  /** What DescribeStacks showed before (undefined: no stack). */
  previous: DeployedStack | undefined;
  templateBody: string;
  parameters: Record<string, string>;
  dryRun: boolean;
  io: Io;
  pollMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** Names the change set (tests fix it). */
  now?: () => Date;
  description?: string;
}

export type DeployResult =
  | { outcome: 'no-changes'; stack: DeployedStack }
  | { outcome: 'dry-run'; changes: Change[] }
  | { outcome: 'deployed'; stack: DeployedStack };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A stack that can take a change set of `type`, or a reason why it cannot. */
function changeSetType(previous: DeployedStack | undefined): 'CREATE' | 'UPDATE' {
  // REVIEW_IN_PROGRESS: a stack that only ever had a change set (e.g. an earlier dry run that was interrupted).
  return !previous || previous.status === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE';
}

/** Refuses stacks that cannot be updated now, with what to do. */
export function checkUpdatable(previous: DeployedStack | undefined): void {
  if (!previous) return;
  const { status, name } = previous;
  if (status === 'REVIEW_IN_PROGRESS') return;
  if (status.endsWith('_IN_PROGRESS')) {
    throw new CliError(`the stack ${name} is busy (${status}): wait until it finishes (aws cloudformation describe-stacks --stack-name ${name}), then deploy again`, EXIT.failed);
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    throw new CliError(`the stack ${name} is ${status}: fix the cause, run \`aws cloudformation continue-update-rollback --stack-name ${name}\`, then deploy again`, EXIT.failed);
  }
  if (status === 'DELETE_FAILED' || status === 'ROLLBACK_FAILED') {
    throw new CliError(`the stack ${name} is ${status}: delete it (aws cloudformation delete-stack --stack-name ${name}, retaining what cannot be deleted), then deploy again`, EXIT.failed);
  }
}

/**
 * Creates a change set for the stack, shows it, and (unless a dry run) executes it and follows
 * the stack's events to the end. A failed deploy throws a CliError listing the failed resources.
 */
export async function deployStack(input: DeployStackInput): Promise<DeployResult> {
  const { cfn, stackName, templateBody, parameters, dryRun, io, pollMs } = input;
  const sleep = input.sleep ?? defaultSleep;
  let previous = input.previous;
  checkUpdatable(previous);

  // A stack whose creation failed and rolled back holds nothing and cannot be updated: replace it.
  if (previous?.status === 'ROLLBACK_COMPLETE') {
    if (dryRun) {
      io.stderr(`The stack ${stackName} is ROLLBACK_COMPLETE (its creation failed): a deploy would delete it and create it again.\n`);
      return { outcome: 'dry-run', changes: [] };
    } else {
      io.stderr(`The stack ${stackName} is ROLLBACK_COMPLETE (its creation failed and it holds nothing): deleting it first.\n`);
      await deleteStackAndWait(cfn, previous, io, pollMs, sleep);
    }
    previous = undefined;
  }

  const type = changeSetType(previous);
  if (type === 'UPDATE' && previous) {
    const body = await deployedTemplate(cfn, previous.id);
    if (sameDeployment(body, previous.parameters, templateBody, parameters)) {
      return { outcome: 'no-changes', stack: previous };
    }
  }

  const stamp = (input.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const changeSetName = `ec2ip-deploy-${stamp}`;
  let changeSetId: string;
  let stackId: string | undefined;
  try {
    const out = await cfn.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: type,
        TemplateBody: templateBody,
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: [...CAPABILITIES],
        Description: input.description ?? 'ec2ip deploy',
      }),
    );
    changeSetId = out.Id ?? changeSetName;
    stackId = out.StackId;
  } catch (error) {
    if (isNoChanges(errorMessage(error)) && previous) return { outcome: 'no-changes', stack: previous };
    throw explainAwsError(error, `creating a change set for ${stackName}`);
  }
  const cleanUp = async () => {
    try {
      await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackId ?? stackName }));
      // A new stack exists (REVIEW_IN_PROGRESS, empty) as soon as its first change set does.
      if (type === 'CREATE' && !previous) await cfn.send(new DeleteStackCommand({ StackName: stackId ?? stackName }));
    } catch (error) {
      io.stderr(`warning: could not delete the change set ${changeSetName}: ${errorMessage(error)}\n`);
    }
  };

  const changeSet = await waitForChangeSet(cfn, changeSetId, stackId ?? stackName, pollMs, sleep);
  if (changeSet.status === 'FAILED') {
    await cleanUp();
    if (isNoChanges(changeSet.reason) && previous) return { outcome: 'no-changes', stack: previous };
    throw new CliError(`CloudFormation rejected the change set for ${stackName}: ${changeSet.reason ?? 'no reason given'}`, EXIT.failed);
  }

  io.stderr(`Change set ${changeSetName} (${type === 'CREATE' ? 'creates the stack' : 'updates the stack'} ${stackName}):\n`);
  const paramLines = parameterChanges(previous?.parameters, parameters);
  if (paramLines.length > 0) io.stderr(`Parameters:\n${paramLines.join('\n')}\n`);
  io.stderr(changeSet.changes.length > 0 ? `Resources:\n${formatChanges(changeSet.changes).join('\n')}\n` : 'Resources: no resource changes listed\n');

  if (dryRun) {
    await cleanUp();
    return { outcome: 'dry-run', changes: changeSet.changes };
  }

  const watcher = new EventWatcher(cfn, stackId ?? stackName);
  await watcher.prime();
  io.stderr(`Executing; events as they happen (Ctrl-C stops watching, not the deploy):\n`);
  try {
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackId ?? stackName }));
  } catch (error) {
    // A retried request whose first attempt went through finds the change set executing: follow it.
    if (!(await wasExecuted(cfn, changeSetId, stackId ?? stackName))) {
      await printNewEvents(watcher, io).catch(() => undefined);
      throw explainAwsError(error, `executing the change set ${changeSetName} on ${stackName}`);
    }
  }
  const final = await follow(cfn, watcher, stackId ?? stackName, io, pollMs, sleep);
  if (!isSuccess(final.status)) {
    const reasons = failureReasons(watcher.all, stackName);
    throw new CliError(
      `the deploy of ${stackName} failed: the stack is ${final.status}${final.statusReason ? ` (${final.statusReason})` : ''}\n` +
        (reasons.length > 0 ? `What failed:\n${reasons.map((r) => `  ${r}`).join('\n')}` : 'No failed resource was reported; see the events above.'),
      EXIT.failed,
    );
  }
  return { outcome: 'deployed', stack: final };
}

interface ChangeSetState {
  status: string;
  reason?: string;
  changes: Change[];
}

export async function waitForChangeSet(cfn: CloudFormationClient, id: string, stack: string, pollMs: number, sleep: (ms: number) => Promise<void>): Promise<ChangeSetState> {
  for (;;) {
    let out;
    try {
      out = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stack }));
    } catch (error) {
      throw explainAwsError(error, `reading the change set ${id}`);
    }
    const status = out.Status ?? 'UNKNOWN';
    if (status === 'CREATE_COMPLETE' || status === 'FAILED' || status === 'DELETE_COMPLETE' || status === 'DELETE_FAILED') {
      const changes = [...(out.Changes ?? [])];
      let NextToken = out.NextToken;
      while (NextToken) {
        const page = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stack, NextToken }));
        changes.push(...(page.Changes ?? []));
        NextToken = page.NextToken;
      }
      return { status: status === 'CREATE_COMPLETE' ? status : 'FAILED', ...(out.StatusReason ? { reason: out.StatusReason } : {}), changes };
    }
    await sleep(pollMs);
  }
}

async function wasExecuted(cfn: CloudFormationClient, id: string, stack: string): Promise<boolean> {
  try {
    const { ExecutionStatus } = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stack }));
    return ExecutionStatus === 'EXECUTE_IN_PROGRESS' || ExecutionStatus === 'EXECUTE_COMPLETE' || ExecutionStatus === 'EXECUTE_FAILED';
  } catch {
    return false;
  }
}

async function printNewEvents(watcher: EventWatcher, io: Io): Promise<void> {
  for (const e of await watcher.poll()) io.stderr(`  ${formatEvent(e)}\n`);
}

/** Prints events until the stack reaches a terminal status; returns the stack then. */
async function follow(cfn: CloudFormationClient, watcher: EventWatcher, stack: string, io: Io, pollMs: number, sleep: (ms: number) => Promise<void>): Promise<DeployedStack> {
  for (;;) {
    try {
      await printNewEvents(watcher, io);
    } catch (error) {
      throw explainAwsError(error, `reading the events of ${stack}`);
    }
    const now = await describeStack(cfn, stack);
    if (!now) throw new CliError(`the stack ${stack} disappeared while deploying`, EXIT.failed);
    if (isTerminal(now.status)) {
      await printNewEvents(watcher, io).catch(() => undefined);
      return now;
    }
    await sleep(pollMs);
  }
}

async function deleteStackAndWait(cfn: CloudFormationClient, stack: DeployedStack, io: Io, pollMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const watcher = new EventWatcher(cfn, stack.id);
  await watcher.prime();
  try {
    await cfn.send(new DeleteStackCommand({ StackName: stack.id }));
  } catch (error) {
    throw explainAwsError(error, `deleting the failed stack ${stack.name}`);
  }
  for (;;) {
    await printNewEvents(watcher, io).catch(() => undefined);
    const now = await describeStack(cfn, stack.id);
    if (!now) return;
    if (now.status === 'DELETE_FAILED') throw new CliError(`could not delete the failed stack ${stack.name}: ${now.statusReason ?? 'DELETE_FAILED'}`, EXIT.failed);
    await sleep(pollMs);
  }
}

/** Logical id → physical id of the stack's resources (shown when a stack has no outputs). */
export async function stackResources(cfn: CloudFormationClient, stack: string): Promise<[string, string, string][]> {
  try {
    const { StackResources = [] } = await cfn.send(new DescribeStackResourcesCommand({ StackName: stack }));
    return StackResources.filter((r) => r.LogicalResourceId && r.PhysicalResourceId).map((r) => [r.LogicalResourceId ?? '', r.ResourceType ?? '', r.PhysicalResourceId ?? '']);
  } catch {
    return [];
  }
}
