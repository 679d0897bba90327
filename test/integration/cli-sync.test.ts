/**
 * `ec2ip plan` and `ec2ip reconcile` against moto: the Lambda's loop with the user's credentials,
 * each call held to the person's policies docs/scripts.md quotes (infra/user-policy.json and
 * infra/user-policy-reconcile.json, with the test's zone ids put in as the docs say).
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createZone,
  describe as describeInstance,
  getParameters,
  listRecords,
  putRecord,
  runInstance,
  startInstances,
  stopInstances,
  useMoto,
} from '../support/moto.js';
import { cliAs, publish } from '../support/cli.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';

describe('ec2ip plan and reconcile', () => {
  const aws = useMoto();
  // The person's calls only: the Lambda publishing first is its role's, audited in its own tests.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.reconcile] });
  const cli = (args: string[], env?: Record<string, string>) => cliAs(USER_ACCESS_KEY, args, env);
  let publicZone: string;
  let privateZone: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    [publicZone, privateZone] = await Promise.all([createZone('example.com'), createZone('internal.example', { private: true })]);
    env = { HOSTED_ZONE_ID: publicZone, PRIVATE_HOSTED_ZONE_ID: privateZone };
    audit.edit({ PUBLIC_ZONE_ID: publicZone, PRIVATE_ZONE_ID: privateZone });
  });

  const state = async () => ({ public: await listRecords(publicZone), private: await listRecords(privateZone), parameters: await getParameters('/ec2ip') });

  it('plans what missed events and a deleted parameter left stale, writes nothing, and reconcile repairs it', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await publish({ publicZone, privateZone }, [web]);
    const before = await describeInstance(web);
    // Events lost: the IP changes behind ec2ip's back; someone deletes a parameter.
    await stopInstances([web]);
    await startInstances([web]);
    await aws.ssm.send(new DeleteParameterCommand({ Name: '/ec2ip/web/private-ip' }));
    const after = await describeInstance(web);
    expect(after.PublicIpAddress).not.toBe(before.PublicIpAddress);
    const drifted = await state();

    const plan = await cli(['plan'], env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`  - DELETE A web.example.com ${before.PublicIpAddress}\n`);
    expect(plan.stdout).toContain(`  + CREATE A web.example.com ${after.PublicIpAddress}\n`);
    expect(plan.stdout).toContain(`  ~ put /ec2ip/web/public-ip = ${after.PublicIpAddress}\n`);
    expect(plan.stdout).toContain(`  ~ put /ec2ip/web/private-ip = ${after.PrivateIpAddress}\n`);
    expect(plan.stdout).toContain('Plan: 4 changes (2 in Route 53, 2 in SSM) for 1 tagged instances.');
    expect(plan.stdout).not.toContain('internal.example');
    expect(plan.stderr).toContain('owner ec2ip, region us-east-1, prefix /ec2ip');
    expect(await state()).toEqual(drifted);

    const applied = await cli(['reconcile'], env);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Reconciled 1 tagged instances: 4 of 4 changes');
    expect((await listRecords(publicZone)).find((r) => r.type === 'A')?.values).toEqual([after.PublicIpAddress]);
    expect(await getParameters('/ec2ip')).toEqual({ '/ec2ip/web/instance-id': web, '/ec2ip/web/public-ip': after.PublicIpAddress, '/ec2ip/web/private-ip': after.PrivateIpAddress });

    const again = await cli(['plan'], env);
    expect(again.stdout).toBe('Plan: no changes for 1 tagged instances.\n');
  });

  it('plans a first publication and a refusal, as JSON too', async () => {
    await putRecord(publicZone, { name: 'mail.example.com', type: 'A', values: ['203.0.113.25'] });
    const [web, mail] = await Promise.all([runInstance({ tags: { 'ec2ip:name': 'web' } }), runInstance({ tags: { 'ec2ip:name': 'mail' } })]);
    const w = await describeInstance(web);
    const empty = await state();

    const text = await cli(['plan'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`  + CREATE TXT _ec2ip.web.example.com "heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=${web}"\n`);
    expect(text.stdout).toContain(`  + CREATE A web.example.com ${w.PublicIpAddress}\n`);
    expect(text.stdout).toContain(`  + CREATE A web.internal.example ${w.PrivateIpAddress}\n`);
    expect(text.stdout).toContain(`  + create /ec2ip/web/instance-id = ${web}\n`);
    expect(text.stdout).toMatch(new RegExp(`  ! mail \\(${mail}\\) in example\\.com: the name belongs to someone else in zone example\\.com`));

    const json = await cli(['plan', '--json'], env);
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout);
    expect(plan.settings).toMatchObject({ owner: 'ec2ip', region: 'us-east-1', prefix: '/ec2ip', stack: { name: 'ec2ip', status: 'skipped' } });
    expect(plan.zones.map((z: { name: string }) => z.name)).toEqual(['example.com', 'internal.example']);
    expect(plan.zones[0].groups.find((g: { name: string }) => g.name === 'web')).toMatchObject({
      reason: 'claim',
      instanceIds: [web],
      changes: expect.arrayContaining([{ action: 'CREATE', type: 'A', name: 'web.example.com', ttl: 60, values: [w.PublicIpAddress] }]),
    });
    expect(plan.parameters).toContainEqual({ action: 'create', parameter: '/ec2ip/web/public-ip', value: w.PublicIpAddress, name: 'web', instanceIds: [web] });
    expect(plan.refusals).toContainEqual(expect.objectContaining({ kind: 'foreign', instanceId: mail, name: 'mail', where: 'example.com' }));
    expect(await state()).toEqual(empty);
  });

  it('reads the settings from the deployed stack when no zone is given', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const cfn = new CloudFormationClient({ endpoint: aws.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await cfn.send(
      new CreateStackCommand({
        StackName: 'ec2ip-test',
        TemplateBody: JSON.stringify({
          Parameters: Object.fromEntries(['HostedZoneId', 'PrivateHostedZoneId', 'ParameterPrefix', 'RecordTtl', 'OnStop'].map((p) => [p, { Type: 'String', Default: '' }])),
          Resources: { Queue: { Type: 'AWS::SQS::Queue' } },
        }),
        Parameters: [
          { ParameterKey: 'HostedZoneId', ParameterValue: publicZone },
          { ParameterKey: 'ParameterPrefix', ParameterValue: '/team/ec2ip' },
          { ParameterKey: 'RecordTtl', ParameterValue: '300' },
          { ParameterKey: 'OnStop', ParameterValue: 'keep' },
        ],
      }),
    );

    // docs/scripts.md: with another stack name or prefix the person edits the policies to match.
    audit.edit({ 'stack/ec2ip/': 'stack/ec2ip-test/', 'parameter/ec2ip': 'parameter/team/ec2ip' });
    const ran = await cli(['plan', '--stack-name', 'ec2ip-test']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain('using the settings of stack ec2ip-test: owner ec2ip-test, region us-east-1, prefix /team/ec2ip, public zone');
    expect(ran.stdout).toContain(`+ CREATE TXT _ec2ip.web.example.com "heritage=ec2ip,owner=ec2ip-test,region=us-east-1,instance=${web}"`);
    expect(ran.stdout).toContain(`+ create /team/ec2ip/web/instance-id = ${web}`);
    expect(ran.stdout).not.toContain('internal.example');

    // Flags and the environment win over the stack.
    audit.edit({ 'stack/ec2ip/': 'stack/ec2ip-test/', 'parameter/ec2ip': 'parameter/mine' });
    const json = JSON.parse((await cli(['plan', '--json', '--stack-name', 'ec2ip-test', '--ttl', '30'], { PARAMETER_PREFIX: '/mine' })).stdout);
    expect(json.settings).toMatchObject({ owner: 'ec2ip-test', prefix: '/mine', ttl: 30, onStop: 'keep', stack: { status: 'found' } });
  });

  it('says so when there is no stack and goes on with the environment and defaults', async () => {
    await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const ran = await cli(['plan']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain('no stack ec2ip found; using the environment and defaults: owner ec2ip, region us-east-1, prefix /ec2ip, no zones');
    expect(ran.stdout).toContain('+ create /ec2ip/web/instance-id');
  });

  it('exits 2 for a zone that does not exist', async () => {
    const ran = await cli(['plan', '--hosted-zone-id', 'ZNOSUCHZONE000']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('the hosted zone does not exist');
  });
});
