/**
 * Several accounts on one moto server, for the hub tests. Moto gives credentials from
 * AssumeRole the account of the role, so a client built on them acts in that account: the
 * tests use that to set up member accounts (their spoke stacks, their instances) and the
 * hub's function uses it to reach them, as it would on AWS.
 */
import { readFileSync } from 'node:fs';
import { CreateStackCommand, CreateStackInstancesCommand, CreateStackSetCommand, CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { queryApi } from '../../functions/adapters/aws-query.js';
import { builtInImageId, motoEndpoint } from './moto.js';

/** The hub's account: moto's default, the one plain `test` credentials act in. */
export const HUB_ACCOUNT = '123456789012';
export const ACCOUNT_A = '111111111111';
export const ACCOUNT_B = '222222222222';
export const SPOKE_ROLE = 'ec2ip-spoke';
export const EXTERNAL_ID = 'ec2ip-test-external-id';
export const HUB_ROLE_ARN = `arn:aws:iam::${HUB_ACCOUNT}:role/ec2ip-hub-us-east-1`;
export const HUB_BUS_ARN = `arn:aws:events:us-east-1:${HUB_ACCOUNT}:event-bus/ec2ip-spokes`;

export interface Spoke {
  account: string;
  region: string;
}

export interface SpokeClients {
  ec2: EC2Client;
  ssm: SSMClient;
  cfn: CloudFormationClient;
  /** The account administrator's credentials behind the clients. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const HUB_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * Clients acting in a member account and region, through an AssumeRole into it (a setup
 * role, not the spoke role: the tests play the account's administrator). Fresh per call:
 * a moto reset forgets assumed-role keys.
 */
export async function spokeClients({ account, region }: Spoke): Promise<SpokeClients> {
  const endpoint = motoEndpoint();
  const sts = new STSClient({ endpoint, region, credentials: HUB_CREDENTIALS });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`, RoleSessionName: 'ec2ip-test-admin' }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole on moto returned no credentials');
  const credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}) };
  const config = { endpoint, region, credentials };
  return { ec2: new EC2Client(config), ssm: new SSMClient(config), cfn: new CloudFormationClient(config), credentials };
}

/** Gives the spoke's account an IAM account alias (IAM's CreateAccountAlias, as its administrator). */
export async function setAccountAlias(clients: SpokeClients, alias: string): Promise<void> {
  const answer = await queryApi(
    { service: 'iam', region: 'us-east-1', credentials: clients.credentials, env: { AWS_ENDPOINT_URL: motoEndpoint() } },
    { Action: 'CreateAccountAlias', Version: '2010-05-08', AccountAlias: alias },
  );
  if (!answer.ok) throw new Error(`CreateAccountAlias ${alias} failed: ${answer.xml}`);
}

const SPOKE_TEMPLATE = () => readFileSync(new URL('../../infra/spoke.yaml', import.meta.url), 'utf8');

/** The spoke stack's parameters: the hub's three (bus, function role, external id) and `params`. */
function spokeStackParameters(params: Record<string, string>): { ParameterKey: string; ParameterValue: string }[] {
  return Object.entries({ HubEventBusArn: HUB_BUS_ARN, HubFunctionRoleArn: HUB_ROLE_ARN, ExternalId: EXTERNAL_ID, ...params }).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
}

/** Deploys infra/spoke.yaml in the spoke (its role and its forwarding rules), as the StackSet would, with `params` beyond the hub's three. */
export async function deploySpokeStack(clients: SpokeClients, params: Record<string, string> = {}): Promise<void> {
  await clients.cfn.send(
    new CreateStackCommand({
      StackName: 'ec2ip-spoke',
      TemplateBody: SPOKE_TEMPLATE(),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      Parameters: spokeStackParameters(params),
    }),
  );
  const { Stacks = [] } = await clients.cfn.send(new DescribeStacksCommand({ StackName: 'ec2ip-spoke' }));
  if (Stacks[0]?.StackStatus !== 'CREATE_COMPLETE') throw new Error(`the spoke stack is ${Stacks[0]?.StackStatus}: ${Stacks[0]?.StackStatusReason}`);
}

/**
 * Creates the spokes' StackSet `ec2ip-spokes` in the hub's account (self-managed on moto) with
 * `params` beyond the hub's three, and its stack instances in `accounts` × `regions`: each
 * deploys infra/spoke.yaml there.
 */
export async function createSpokeStackSet(accounts: readonly string[], regions: readonly string[], params: Record<string, string> = {}): Promise<void> {
  const cfn = new CloudFormationClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: HUB_CREDENTIALS });
  try {
    await cfn.send(new CreateStackSetCommand({ StackSetName: 'ec2ip-spokes', TemplateBody: SPOKE_TEMPLATE(), Capabilities: ['CAPABILITY_NAMED_IAM'], Parameters: spokeStackParameters(params) }));
    await cfn.send(new CreateStackInstancesCommand({ StackSetName: 'ec2ip-spokes', Accounts: [...accounts], Regions: [...regions] }));
  } finally {
    cfn.destroy();
  }
}

/** Runs one instance in the spoke with these tags; returns its id. */
export async function runSpokeInstance(clients: SpokeClients, tags: Record<string, string>): Promise<string> {
  const image = await builtInImageId(clients.ec2, motoEndpoint());
  const out = await clients.ec2.send(
    new RunInstancesCommand({
      ImageId: image,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
    }),
  );
  const id = out.Instances?.[0]?.InstanceId;
  if (!id) throw new Error('RunInstances returned no instance');
  return id;
}

export async function terminateSpokeInstance(clients: SpokeClients, id: string): Promise<void> {
  await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
}

export async function stopSpokeInstance(clients: SpokeClients, id: string): Promise<void> {
  await clients.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
}

/** The spoke's parameters under the prefix, name → value. */
export async function spokeParameters(clients: SpokeClients, prefix = '/ec2ip'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let NextToken: string | undefined;
  do {
    const page = await clients.ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, ...(NextToken ? { NextToken } : {}) }));
    for (const p of page.Parameters ?? []) if (p.Name) out[p.Name] = p.Value ?? '';
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** The hub's environment for the built handler: the zone, the spoke role, the external id and the spokes. */
export function hubEnv(zone: string, spokes: readonly Spoke[], extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOSTED_ZONE_ID: zone,
    PRIVATE_HOSTED_ZONE_ID: undefined,
    PARAMETER_PREFIX: undefined,
    OWNER_ID: 'ec2ip-hub',
    ON_STOP: undefined,
    RECORD_TTL: undefined,
    LOG_LEVEL: undefined,
    ENABLE_ELASTIC_IP: undefined,
    SPOKE_ROLE_NAME: SPOKE_ROLE,
    SPOKE_EXTERNAL_ID: EXTERNAL_ID,
    SPOKES: spokes.map((s) => `${s.account}:${s.region}`).join(','),
    SPOKE_STACK_SET: undefined,
    NAME_TEMPLATE: undefined,
    ...extra,
  };
}

/** The ownership TXT value a hub writes. */
export function hubOwnership(instanceId: string, spoke: Spoke, owner = 'ec2ip-hub'): string {
  return `"heritage=ec2ip,owner=${owner},region=${spoke.region},account=${spoke.account},instance=${instanceId}"`;
}
