/**
 * `ec2ip deploy --spokes` with the CloudFormation SDK mocked: what moto lacks (service-managed
 * permissions over organizational units, automatic deployment, failed stack instances with
 * their reasons, a failing ListStackSetOperationResults / ListStackInstances). The
 * self-managed flow runs on moto in test/integration/hub-deploy.test.ts.
 */
import {
  CloudFormationClient,
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  DescribeStackSetCommand,
  DescribeStackSetOperationCommand,
  ListStackInstancesCommand,
  ListStackSetOperationResultsCommand,
  UpdateStackSetCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../scripts/cli/errors.js';
import type { Io } from '../../scripts/cli/io.js';
import { checkHubParameters, hubParametersFromFlags } from '../../scripts/deploy/hub-parameters.js';
import { templateDocument } from '../support/cfn-stack.js';
import { applySpokes, hubOutputsOf, planSpokes, type SpokesPlan } from '../../scripts/deploy/stackset.js';

const cfnMock = mockClient(CloudFormationClient);
const cfn = new CloudFormationClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/ec2ip-spokes';
const ROLE = 'arn:aws:iam::123456789012:role/ec2ip-hub-eu-west-1';

function io(): Io & { err: () => string } {
  let err = '';
  return { stdout: () => undefined, stderr: (t) => void (err += t), env: {}, cwd: '/', err: () => err };
}

const base = { 'hub-event-bus-arn': BUS, 'hub-function-role-arn': ROLE, 'spoke-external-id': 'xid-123', regions: 'us-east-1,eu-west-1' };
const ouPlan: SpokesPlan = planSpokes({ ...base, 'organizational-unit': ['ou-abcd-11111111'] }, {});

beforeEach(() => cfnMock.reset());

describe('planSpokes', () => {
  it('targets OUs (service-managed) or accounts (self-managed), in the given regions, with the hub\'s outputs', () => {
    expect(ouPlan).toEqual({
      stackSetName: 'ec2ip-spokes',
      organizationalUnits: ['ou-abcd-11111111'],
      accounts: [],
      regions: ['us-east-1', 'eu-west-1'],
      parameters: [
        { ParameterKey: 'HubEventBusArn', ParameterValue: BUS },
        { ParameterKey: 'HubFunctionRoleArn', ParameterValue: ROLE },
        { ParameterKey: 'ExternalId', ParameterValue: 'xid-123' },
      ],
    });
    expect(planSpokes({ ...base, 'hub-event-bus-arn': undefined, 'hub-function-role-arn': undefined, accounts: '111111111111', 'call-as': 'DELEGATED_ADMIN' }, {}, { HubEventBusArn: BUS, HubFunctionRoleArn: ROLE })).toMatchObject({ accounts: ['111111111111'], callAs: 'DELEGATED_ADMIN' });
  });

  it('passes --operator-arn to the spokes as OperatorArn, and nothing when it is not given', () => {
    const operator = 'arn:aws:iam::123456789012:role/ec2ip-operator';
    expect(planSpokes({ ...base, accounts: '111111111111', 'operator-arn': operator }, {}).parameters).toContainEqual({ ParameterKey: 'OperatorArn', ParameterValue: operator });
    expect(ouPlan.parameters.map((p) => p.ParameterKey)).not.toContain('OperatorArn');
  });

  it("accepts as --operator-arn exactly the non-empty values spoke.yaml's OperatorArn allows, so CloudFormation never refuses one the CLI let through", () => {
    const pattern = new RegExp(String(((templateDocument('spoke').Parameters as Record<string, Record<string, unknown>>).OperatorArn)?.AllowedPattern));
    const values = ['arn:aws:iam::123456789012:role/ec2ip-operator', 'arn:aws:iam::123456789012:user/alice', 'arn:aws-cn:iam::123456789012:role/team/ops', 'arn:aws:iam::123456789012:group/ops', 'arn:aws:iam::1234:role/x', 'ec2ip-operator', 'arn:aws:iam::123456789012:role/a b'];
    const accepted = (v: string) => {
      try {
        planSpokes({ ...base, accounts: '111111111111', 'operator-arn': v }, {});
        return true;
      } catch {
        return false;
      }
    };
    expect(values.map(accepted)).toEqual(values.map((v) => pattern.test(v)));
    expect(values.filter(accepted)).toHaveLength(3);
  });

  it.each([
    [{ accounts: undefined }, /--organizational-unit ou-… \(service-managed\) or --accounts/],
    [{ accounts: '111111111111', 'organizational-unit': ['ou-abcd-11111111'] }, /not both/],
    [{ accounts: '11111' }, /--accounts 11111 is not a 12-digit account id/],
    [{ 'organizational-unit': ['ou-x'], accounts: undefined }, /--organizational-unit ou-x is not an OU id/],
    [{ regions: undefined }, /--regions us-east-1,eu-west-1/],
    [{ regions: 'moon-1' }, /--regions moon-1 is not a region/],
    [{ 'spoke-external-id': undefined }, /--spoke-external-id/],
    [{ 'call-as': 'ME' }, /--call-as must be SELF or DELEGATED_ADMIN/],
    [{ 'operator-arn': 'ec2ip-operator' }, /--operator-arn ec2ip-operator is not an IAM role or user ARN/],
    [{ 'operator-arn': 'arn:aws:iam::123456789012:group/ops' }, /--operator-arn .* is not an IAM role or user ARN/],
  ])('refuses %j', (over, message) => {
    expect(() => planSpokes({ ...base, accounts: '111111111111', ...over }, {})).toThrow(message);
  });
});

describe('applySpokes', () => {
  it('creates a service-managed StackSet with automatic deployment and adds the OUs in every region', async () => {
    cfnMock.on(DescribeStackSetCommand).rejects(Object.assign(new Error('StackSet ec2ip-spokes not found'), { name: 'StackSetNotFoundException' }));
    cfnMock.on(CreateStackSetCommand).resolves({ StackSetId: 'ec2ip-spokes:1' });
    cfnMock.on(CreateStackInstancesCommand).resolves({ OperationId: 'op-1' });
    cfnMock.on(DescribeStackSetOperationCommand).resolvesOnce({ StackSetOperation: { Status: 'RUNNING' } }).resolves({ StackSetOperation: { Status: 'SUCCEEDED' } });
    cfnMock
      .on(ListStackSetOperationResultsCommand)
      .resolvesOnce({ Summaries: [{ Account: '111111111111', Region: 'us-east-1', Status: 'RUNNING' }] })
      .resolves({ Summaries: [{ Account: '111111111111', Region: 'us-east-1', Status: 'SUCCEEDED' }, { Account: '111111111111', Region: 'eu-west-1', Status: 'SUCCEEDED' }] });
    cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [{ Account: '111111111111', Region: 'us-east-1', Status: 'CURRENT' }, { Account: '111111111111', Region: 'eu-west-1', Status: 'CURRENT' }] });
    const out = io();
    const instances = await applySpokes(cfn, ouPlan, 'template', out, 1);
    expect(instances).toHaveLength(2);
    expect(cfnMock).toHaveReceivedCommandWith(CreateStackSetCommand, { PermissionModel: 'SERVICE_MANAGED', AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false }, Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] });
    expect(cfnMock).toHaveReceivedCommandWith(CreateStackInstancesCommand, { DeploymentTargets: { OrganizationalUnitIds: ['ou-abcd-11111111'] }, Regions: ['us-east-1', 'eu-west-1'] });
    expect(out.err().split('\n').filter((l) => l.includes('111111111111'))).toEqual([
      expect.stringMatching(/111111111111\s+us-east-1\s+RUNNING/),
      expect.stringMatching(/111111111111\s+us-east-1\s+SUCCEEDED/),
      expect.stringMatching(/111111111111\s+eu-west-1\s+SUCCEEDED/),
    ]);
  });

  it('updates an existing StackSet and reports each failed account and region with its reason', async () => {
    cfnMock.on(DescribeStackSetCommand).resolves({ StackSet: { StackSetName: 'ec2ip-spokes' } });
    cfnMock.on(UpdateStackSetCommand).resolves({ OperationId: 'op-2' });
    cfnMock.on(DescribeStackSetOperationCommand).resolves({ StackSetOperation: { Status: 'FAILED' } });
    cfnMock.on(ListStackSetOperationResultsCommand).resolves({
      Summaries: [
        { Account: '111111111111', Region: 'us-east-1', Status: 'SUCCEEDED' },
        { Account: '222222222222', Region: 'eu-west-1', Status: 'FAILED', StatusReason: 'ResourceLogicalId:SpokeRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:ec2ip-spoke-eu-west-1 already exists.' },
      ],
    });
    const error = await applySpokes(cfn, ouPlan, 'template', io(), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toBe(
      'the update of the StackSet ec2ip-spokes ended FAILED; what failed:\n  222222222222 eu-west-1 FAILED: ResourceLogicalId:SpokeRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:ec2ip-spoke-eu-west-1 already exists.',
    );
    expect(cfnMock).not.toHaveReceivedCommand(CreateStackInstancesCommand);
  });

  it('follows the operation\'s status when its results per account cannot be read', async () => {
    cfnMock.on(DescribeStackSetCommand).rejects(Object.assign(new Error('not found'), { name: 'StackSetNotFoundException' }));
    cfnMock.on(CreateStackInstancesCommand).resolves({ OperationId: 'op-3' });
    cfnMock.on(DescribeStackSetOperationCommand).resolves({ StackSetOperation: { Status: 'SUCCEEDED' } });
    cfnMock.on(ListStackSetOperationResultsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [] });
    const out = io();
    await applySpokes(cfn, ouPlan, 'template', out, 1);
    expect(out.err()).toContain("cannot read the results per account and region (ThrottlingException: Rate exceeded); following the operation's status");
  });

  it('says why the stack instances cannot be listed', async () => {
    cfnMock.on(DescribeStackSetCommand).resolves({ StackSet: {} });
    cfnMock.on(UpdateStackSetCommand).resolves({});
    cfnMock.on(ListStackInstancesCommand).rejects(Object.assign(new Error('User is not authorized to perform cloudformation:ListStackInstances'), { name: 'AccessDenied' }));
    const selfManaged = planSpokes({ ...base, accounts: '111111111111' }, {});
    await expect(applySpokes(cfn, selfManaged, 'template', io(), 1)).rejects.toThrow(/listing the stack instances of the StackSet ec2ip-spokes: .*not authorized/);
  });

  it('adds only the missing account and region pairs of a self-managed StackSet', async () => {
    cfnMock.on(DescribeStackSetCommand).resolves({ StackSet: {} });
    cfnMock.on(UpdateStackSetCommand).resolves({});
    cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [{ Account: '111111111111', Region: 'us-east-1', Status: 'CURRENT' }, { Account: '111111111111', Region: 'eu-west-1', Status: 'CURRENT' }] });
    cfnMock.on(CreateStackInstancesCommand).resolves({});
    await applySpokes(cfn, planSpokes({ ...base, accounts: '111111111111,222222222222' }, {}), 'template', io(), 1);
    expect(cfnMock).toHaveReceivedCommandWith(CreateStackInstancesCommand, { Accounts: ['222222222222'], Regions: ['us-east-1', 'eu-west-1'] });
  });
});

describe('the hub\'s deploy settings', () => {
  it('requires the external id again on an update (CloudFormation shows it as ****)', () => {
    expect(() => checkHubParameters({ Spokes: '111111111111:us-east-1', SpokeExternalId: '****' })).toThrow(/--spoke-external-id/);
    expect(() => checkHubParameters({ Spokes: '', SpokeStackSet: '', SpokeExternalId: 'x1' })).toThrow(/a hub needs its spokes/);
  });

  it('validates the hub flags as the Lambda would', () => {
    expect(hubParametersFromFlags({ 'spoke-list': '111111111111:us-east-1 ,222222222222:eu-west-1', 'name-template': '{name}.{account}' }, {})).toMatchObject({ Spokes: '111111111111:us-east-1,222222222222:eu-west-1', NameTemplate: '{name}.{account}' });
    expect(() => hubParametersFromFlags({ 'name-template': '{name}.{account-name}' }, {})).toThrow(/--name-template/);
    expect(() => hubParametersFromFlags({ 'spoke-list': '1:us-east-1' }, {})).toThrow(/--spoke-list/);
    expect(() => hubParametersFromFlags({ 'organization-id': 'org-1' }, {})).toThrow(/--organization-id/);
  });

  it('derives the hub\'s bus and role from the stack when the stack reports no outputs', () => {
    const stack = { id: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ec2ip/abc', name: 'ec2ip', status: 'CREATE_COMPLETE', parameters: { SpokeRoleName: 'ec2ip-spoke' }, outputs: [] };
    expect(hubOutputsOf(stack)).toEqual({ HubEventBusArn: BUS, HubFunctionRoleArn: ROLE });
    expect(hubOutputsOf({ ...stack, parameters: {} })).toEqual({});
  });
});
