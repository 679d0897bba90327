/** The change-set flow of `ec2ip deploy` against a mocked CloudFormation: the paths moto cannot show. */
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../../scripts/cli/errors.js';
import type { Io } from '../../scripts/cli/io.js';
import { failureReasons } from '../../scripts/deploy/events.js';
import {
  deployStack,
  resolveParameters,
  sameDeployment,
  templateParameters,
  type DeployedStack,
  type DeployStackInput,
} from '../../scripts/deploy/stack.js';

const cfnMock = mockClient(CloudFormationClient);
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/ec2ip/abc';
const CS_ID = 'arn:aws:cloudformation:eu-west-1:111122223333:changeSet/ec2ip-deploy-x/def';
const BODY = 'Parameters:\n  A:\n    Type: String\n  B:\n    Type: Number\n    Default: 60\nResources: {}\n';
const PARAMS = { A: 'a', B: '60' };

function io(): Io & { out: string; err: string } {
  const self = {
    out: '',
    err: '',
    stdout: (t: string) => void (self.out += t),
    stderr: (t: string) => void (self.err += t),
    env: {},
    cwd: '/',
  };
  return self;
}

function input(over: Partial<DeployStackInput> = {}): DeployStackInput {
  return {
    cfn: new CloudFormationClient({ region: 'eu-west-1' }),
    stackName: 'ec2ip',
    previous: undefined,
    templateBody: BODY,
    parameters: PARAMS,
    dryRun: false,
    io: io(),
    pollMs: 0,
    sleep: async () => undefined,
    now: () => new Date('2026-01-02T03:04:05Z'),
    ...over,
  };
}

const deployed = (over: Partial<DeployedStack> = {}): DeployedStack => ({
  id: STACK_ID,
  name: 'ec2ip',
  status: 'CREATE_COMPLETE',
  parameters: { ...PARAMS },
  outputs: [],
  ...over,
});

const event = (id: string, logical: string, type: string, status: string, reason?: string): StackEvent => ({
  EventId: id,
  StackId: STACK_ID,
  StackName: 'ec2ip',
  LogicalResourceId: logical,
  ResourceType: type,
  ResourceStatus: status as StackEvent['ResourceStatus'],
  Timestamp: new Date('2026-01-02T03:04:06Z'),
  ...(reason ? { ResourceStatusReason: reason } : {}),
});

beforeEach(() => {
  cfnMock.reset();
  cfnMock.on(CreateChangeSetCommand).resolves({ Id: CS_ID, StackId: STACK_ID });
  cfnMock.on(DescribeChangeSetCommand).resolves({
    Status: 'CREATE_COMPLETE',
    Changes: [{ Type: 'Resource', ResourceChange: { Action: 'Add', LogicalResourceId: 'SyncFunction', ResourceType: 'AWS::Lambda::Function' } }],
  });
});

describe('deployStack', () => {
  it('a failed create: prints the events and fails with the failing resource and its reason (exit 1)', async () => {
    cfnMock.on(DescribeStackEventsCommand).resolvesOnce({ StackEvents: [] }).resolves({
      // newest first, as CloudFormation returns them
      StackEvents: [
        event('7', 'ec2ip', 'AWS::CloudFormation::Stack', 'ROLLBACK_COMPLETE'),
        event('6', 'EventQueue', 'AWS::SQS::Queue', 'DELETE_COMPLETE'),
        event('5', 'ec2ip', 'AWS::CloudFormation::Stack', 'ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to create: [SyncFunction, EventQueue].'),
        event('4', 'EventQueue', 'AWS::SQS::Queue', 'CREATE_FAILED', 'Resource creation cancelled'),
        event('3', 'SyncFunction', 'AWS::Lambda::Function', 'CREATE_FAILED', 'Error occurred while GetObject. S3 Error Code: NoSuchKey'),
        event('2', 'SyncFunction', 'AWS::Lambda::Function', 'CREATE_IN_PROGRESS'),
        event('1', 'ec2ip', 'AWS::CloudFormation::Stack', 'CREATE_IN_PROGRESS', 'User Initiated'),
      ],
    });
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'ec2ip', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() }] });
    const run = input();
    const error = await deployStack(run).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(1);
    const message = (error as CliError).message;
    expect(message).toContain('the stack is ROLLBACK_COMPLETE');
    expect(message).toContain('SyncFunction (AWS::Lambda::Function) CREATE_FAILED: Error occurred while GetObject. S3 Error Code: NoSuchKey');
    expect(message).not.toContain('Resource creation cancelled');
    // Progress: every event once, oldest first.
    const err = (run.io as ReturnType<typeof io>).err;
    expect(err.indexOf('User Initiated')).toBeLessThan(err.indexOf('NoSuchKey'));
    expect(err.match(/NoSuchKey/g)).toHaveLength(1);
    expect(cfnMock).toHaveReceivedCommandWith(CreateChangeSetCommand, {
      ChangeSetType: 'CREATE',
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      ChangeSetName: 'ec2ip-deploy-20260102T030405',
      Parameters: [
        { ParameterKey: 'A', ParameterValue: 'a' },
        { ParameterKey: 'B', ParameterValue: '60' },
      ],
    });
    expect(cfnMock).toHaveReceivedCommandTimes(ExecuteChangeSetCommand, 1);
  });

  it('a successful update returns the stack', async () => {
    cfnMock.on(GetTemplateCommand).resolves({ TemplateBody: 'old' });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('9', 'ec2ip', 'AWS::CloudFormation::Stack', 'UPDATE_COMPLETE')] });
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'ec2ip', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'FunctionName', OutputValue: 'ec2ip' }] }] });
    const result = await deployStack(input({ previous: deployed() }));
    expect(result).toMatchObject({ outcome: 'deployed', stack: { status: 'UPDATE_COMPLETE', outputs: [{ OutputKey: 'FunctionName' }] } });
    expect(cfnMock).toHaveReceivedCommandWith(CreateChangeSetCommand, { ChangeSetType: 'UPDATE' });
  });

  it('same template and parameters: no change set at all', async () => {
    cfnMock.on(GetTemplateCommand).resolves({ TemplateBody: BODY.trimEnd() });
    const result = await deployStack(input({ previous: deployed() }));
    expect(result.outcome).toBe('no-changes');
    expect(cfnMock).toHaveReceivedCommandTimes(CreateChangeSetCommand, 0);
  });

  it("CloudFormation's \"didn't contain changes\": no changes, change set deleted, nothing executed", async () => {
    cfnMock.on(GetTemplateCommand).resolves({ TemplateBody: `${BODY}# a comment\n` });
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    const result = await deployStack(input({ previous: deployed() }));
    expect(result.outcome).toBe('no-changes');
    expect(cfnMock).toHaveReceivedCommandWith(DeleteChangeSetCommand, { ChangeSetName: CS_ID });
    expect(cfnMock).toHaveReceivedCommandTimes(DeleteStackCommand, 0);
    expect(cfnMock).toHaveReceivedCommandTimes(ExecuteChangeSetCommand, 0);
  });

  it('another change-set failure is an error with its reason', async () => {
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'FAILED', StatusReason: 'Parameters: [HostedZoneId] must have values' });
    await expect(deployStack(input())).rejects.toThrow(/rejected the change set for ec2ip: Parameters: \[HostedZoneId\] must have values/);
  });

  it('--dry-run of a new stack shows the changes, then deletes the change set and the empty stack', async () => {
    const run = input({ dryRun: true });
    const result = await deployStack(run);
    expect(result.outcome).toBe('dry-run');
    expect((run.io as ReturnType<typeof io>).err).toMatch(/Add\s+SyncFunction\s+AWS::Lambda::Function/);
    expect(cfnMock).toHaveReceivedCommandWith(DeleteChangeSetCommand, { ChangeSetName: CS_ID });
    expect(cfnMock).toHaveReceivedCommandWith(DeleteStackCommand, { StackName: STACK_ID });
    expect(cfnMock).toHaveReceivedCommandTimes(ExecuteChangeSetCommand, 0);
  });

  it('--dry-run of an update keeps the stack and lists the parameter changes', async () => {
    cfnMock.on(GetTemplateCommand).resolves({ TemplateBody: BODY });
    const run = input({ dryRun: true, previous: deployed(), parameters: { A: 'b', B: '60' } });
    expect((await deployStack(run)).outcome).toBe('dry-run');
    expect((run.io as ReturnType<typeof io>).err).toContain('A: "a" -> "b"');
    expect(cfnMock).toHaveReceivedCommandTimes(DeleteStackCommand, 0);
    expect(cfnMock).toHaveReceivedCommandTimes(ExecuteChangeSetCommand, 0);
  });

  it('a busy stack is refused with what to do', async () => {
    await expect(deployStack(input({ previous: deployed({ status: 'UPDATE_IN_PROGRESS' }) }))).rejects.toThrow(/busy \(UPDATE_IN_PROGRESS\)/);
    expect(cfnMock).toHaveReceivedCommandTimes(CreateChangeSetCommand, 0);
  });
});

describe('parameters', () => {
  const declared = templateParameters(BODY);

  it('reads the declared parameters and defaults', () => {
    expect([...declared]).toEqual([['A', {}], ['B', { default: '60' }]]);
  });

  it('flags win, then the deployed values, then the defaults', () => {
    expect(resolveParameters(declared, { A: 'x' }, undefined)).toEqual({ A: 'x', B: '60' });
    expect(resolveParameters(declared, {}, { A: 'kept', B: '300', Gone: 'x' })).toEqual({ A: 'kept', B: '300' });
    expect(resolveParameters(declared, { B: '5' }, { A: 'kept', B: '300' })).toEqual({ A: 'kept', B: '5' });
  });

  it('a required parameter without a value is a usage error naming the flag', () => {
    expect(() => resolveParameters(declared, {}, undefined, { A: '--a' })).toThrow(UsageError);
    expect(() => resolveParameters(declared, {}, undefined, { A: '--a' })).toThrow('--a is required for a new stack');
  });

  it('sameDeployment compares the template text and every parameter', () => {
    expect(sameDeployment(`${BODY}\n\n`, PARAMS, BODY, PARAMS)).toBe(true);
    expect(sameDeployment(undefined, PARAMS, BODY, PARAMS)).toBe(false);
    expect(sameDeployment(BODY, PARAMS, BODY, { ...PARAMS, B: '61' })).toBe(false);
    expect(sameDeployment(BODY, { ...PARAMS, Old: 'x' }, BODY, PARAMS)).toBe(false);
  });
});

describe('failureReasons', () => {
  it('falls back to the stack reason when no resource says why', () => {
    expect(failureReasons([event('1', 'ec2ip', 'AWS::CloudFormation::Stack', 'ROLLBACK_IN_PROGRESS', 'Template error: something')], 'ec2ip')).toEqual(['ec2ip: Template error: something']);
  });
});

describe('ExecuteChangeSet', () => {
  it('an error after the change set did start executing (a retried request) is followed, not reported', async () => {
    cfnMock.on(ExecuteChangeSetCommand).rejects(Object.assign(new Error('ChangeSet [x] cannot be executed in its current status of [EXECUTE_IN_PROGRESS]'), { name: 'InvalidChangeSetStatusException' }));
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'EXECUTE_IN_PROGRESS', Changes: [] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'ec2ip', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() }] });
    expect((await deployStack(input())).outcome).toBe('deployed');
  });

  it('an error before it executed is reported (exit 1)', async () => {
    cfnMock.on(ExecuteChangeSetCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalFailure' }));
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    await expect(deployStack(input())).rejects.toThrow(/executing the change set ec2ip-deploy-20260102T030405 on ec2ip failed: InternalFailure: boom/);
  });
});
