/**
 * The read-only policy of README "Scripts" (infra/user-policy.json), evaluated against the calls `ec2ip get`
 * and `ec2ip list` make: every call is first evaluated by the IAM simulator (test/support/iam-audit.ts `simulate`)
 * as a user holding only that policy, and a call the policy does not allow
 * fails as AWS fails it (AccessDeniedException, AccessDenied, UnauthorizedOperation). SSM
 * authorises GetParametersByPath against the path of the request (AWS "How Parameter Store
 * authorizes parameter retrieval"), so the resource of `list`'s call is `parameter/ec2ip`.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { formatOwnership } from '../../functions/core/ownership.js';
import type { Io } from '../../scripts/cli/io.js';
import { main } from '../../scripts/cli/main.js';
import type { NamedPolicy } from '../support/cfn-stack.js';
import { simulate } from '../support/iam-audit.js';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** The CLI user's read-only policy, which README "Scripts" links. */
const USER_POLICY = JSON.parse(readFileSync(new URL('../../infra/user-policy.json', import.meta.url), 'utf8')) as Policy;

/** The policy's SSM statements: all that `get` and `list` need. */
function readmePolicy(): Policy {
  expect(README, 'README links the user policy').toContain('](infra/user-policy.json)');
  const ssm = USER_POLICY.Statement.filter((st) => list(st.Action).every((a) => a.startsWith('ssm:')));
  expect(ssm.length).toBeGreaterThan(0);
  return { ...USER_POLICY, Statement: ssm };
}

/** The policy's other actions: what adds hostnames and STATE. */
function readmeExtras(): string[] {
  return USER_POLICY.Statement.flatMap((st) => list(st.Action)).filter((a) => !a.startsWith('ssm:'));
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** IAM's decision for a user holding only `policy` (the simulator the integration tests' audit uses). */
async function allows(policy: Policy, action: string, resource: string): Promise<boolean> {
  const principal = { description: 'a user with the read policy', arn: `arn:aws:iam::${ACCOUNT}:user/reader`, account: ACCOUNT, policies: [{ name: 'user-policy', policy: policy as unknown as NamedPolicy['policy'] }] };
  return (await simulate(principal, { action, resource, context: {} })).result === 'Allowed';
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ZONE = 'Z0123456789EXAMPLE';

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);
const cfn = mockClient(CloudFormationClient);

/** What AWS answers a call the caller's policy does not allow, service by service. */
function denied(service: 'ssm' | 'cloudformation' | 'ec2' | 'route53', action: string, resource: string): Error {
  const notAuthorized = `User: arn:aws:iam::${ACCOUNT}:user/reader is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  const [name, status, message] =
    service === 'ssm' ? ['AccessDeniedException', 400, notAuthorized] : service === 'ec2' ? ['UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'] : ['AccessDenied', 403, notAuthorized];
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

const calls: string[] = [];

/** Every mocked call is checked against `policy` first. */
function serve(policy: Policy): void {
  const guard =
    <I, O>(service: 'ssm' | 'cloudformation' | 'ec2' | 'route53', action: string, resourceOf: (input: I) => string, answer: (input: I) => O) =>
    async (input: I): Promise<O> => {
      const resource = resourceOf(input);
      calls.push(`${action} ${resource}`);
      if (!(await allows(policy, action, resource))) throw denied(service, action, resource);
      return answer(input);
    };
  const parameter = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;
  ssm.on(GetParameterCommand).callsFake(
    guard('ssm', 'ssm:GetParameter', (i: { Name?: string }) => parameter(i.Name ?? ''), (i) => {
      if (i.Name !== '/ec2ip/web/public-ip') throw Object.assign(new Error(`Parameter ${i.Name} not found.`), { name: 'ParameterNotFound', $metadata: { httpStatusCode: 400 } });
      return { Parameter: { Name: i.Name, Value: '198.51.100.7', Type: 'String' } };
    }),
  );
  ssm.on(GetParametersByPathCommand).callsFake(
    guard('ssm', 'ssm:GetParametersByPath', (i: { Path?: string }) => parameter(i.Path ?? ''), () => ({
      Parameters: [
        { Name: '/ec2ip/web/public-ip', Value: '198.51.100.7', Type: 'String' },
        { Name: '/ec2ip/web/instance-id', Value: 'i-0abc1234567890def', Type: 'String' },
      ],
    })),
  );
  cfn.on(DescribeStacksCommand).callsFake(
    guard('cloudformation', 'cloudformation:DescribeStacks', (i: { StackName?: string }) => `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${i.StackName}/*`, (i) => ({
      Stacks: [{ StackName: i.StackName, StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Parameters: [{ ParameterKey: 'HostedZoneId', ParameterValue: ZONE }] }],
    })),
  );
  route53.on(GetHostedZoneCommand).callsFake(
    guard('route53', 'route53:GetHostedZone', (i: { Id?: string }) => `arn:aws:route53:::hostedzone/${i.Id}`, (i) => ({ HostedZone: { Id: `/hostedzone/${i.Id}`, Name: 'example.com.', CallerReference: 'ref' } })),
  );
  route53.on(ListResourceRecordSetsCommand).callsFake(
    guard('route53', 'route53:ListResourceRecordSets', (i: { HostedZoneId?: string }) => `arn:aws:route53:::hostedzone/${i.HostedZoneId}`, () => ({
      IsTruncated: false,
      MaxItems: 300,
      ResourceRecordSets: [
        { Name: 'web.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.51.100.7' }] },
        { Name: '_ec2ip.web.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: formatOwnership({ owner: 'ec2ip', region: REGION, instance: 'i-0abc1234567890def' }) }] },
      ],
    })),
  );
  // DescribeInstances has no resource-level permissions: IAM checks it against "*".
  ec2.on(DescribeInstancesCommand).callsFake(
    guard('ec2', 'ec2:DescribeInstances', () => '*', () => ({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc1234567890def', State: { Name: 'running', Code: 16 }, PublicIpAddress: '198.51.100.7' }] }] })),
  );
}

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'S' }, cwd: tmpdir() };
  return { code: await main(args, io), stdout, stderr };
}

beforeEach(() => {
  for (const m of [ec2, route53, ssm, cfn]) m.reset();
  calls.length = 0;
});

describe("README's read-only policy", () => {
  it('names the path itself beside what is under it', async () => {
    const policy = readmePolicy();
    expect(await allows(policy, 'ssm:GetParametersByPath', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ec2ip`)).toBe(true);
    expect(await allows(policy, 'ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ec2ip/web/public-ip`)).toBe(true);
    // Read-only, and only ec2ip's parameters.
    expect(await allows(policy, 'ssm:PutParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ec2ip/web/public-ip`)).toBe(false);
    expect(await allows(policy, 'ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/other/secret`)).toBe(false);
    expect(await allows(policy, 'ssm:GetParametersByPath', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/`)).toBe(false);
  });

  it('lets `get` run: the stack read is refused and the default prefix used', async () => {
    serve(readmePolicy());
    expect(await run(['get', 'web'])).toEqual({ code: 0, stdout: '198.51.100.7\n', stderr: '' });
    expect(calls).toEqual([`cloudformation:DescribeStacks arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/ec2ip/*`, `ssm:GetParameter arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ec2ip/web/public-ip`]);
  });

  it('lets `list` run, without hostnames and STATE, and says why STATE is missing', async () => {
    serve(readmePolicy());
    const ran = await run(['list', '--json']);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual([
      { name: 'web', instanceId: 'i-0abc1234567890def', state: null, publicIp: '198.51.100.7', privateIp: null, ipv6: null, hostname: null, privateHostname: null, lastModified: null },
    ]);
    expect(calls).toContain(`ssm:GetParametersByPath arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ec2ip`);
    const table = await run(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^web +i-0abc1234567890def +- +198\.51\.100\.7 /m);
    expect(table.stderr).toBe('STATE is "-": access denied to ec2:DescribeInstances\n');
  });

  it('denies `list` without the path ARN (the policy README had before)', async () => {
    const policy = readmePolicy();
    serve({ ...policy, Statement: policy.Statement.map((s) => ({ ...s, Resource: list(s.Resource).filter((r) => r.endsWith('/*')) })) });
    const ran = await run(['list']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('access denied while reading the parameters under /ec2ip');
  });

  it('shows hostnames and STATE with the actions README says to add', async () => {
    const extras = readmeExtras();
    expect(extras).toEqual(['cloudformation:DescribeStacks', 'route53:GetHostedZone', 'route53:ListResourceRecordSets', 'ec2:DescribeInstances']);
    const policy = readmePolicy();
    serve({ ...policy, Statement: [...policy.Statement, { Effect: 'Allow', Action: extras, Resource: '*' }] });
    const ran = await run(['list', '--json']);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(ran.stdout)).toMatchObject([{ name: 'web', state: 'running', publicIp: '198.51.100.7', hostname: 'web.example.com' }]);
  });
});
