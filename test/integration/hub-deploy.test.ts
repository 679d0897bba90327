/**
 * `ec2ip deploy --hub` and `ec2ip deploy --spokes` against moto, in-process: the hub stack
 * in the DNS account, then the spokes' StackSet (self-managed on moto, which has no
 * organization: service-managed permissions and automatic deployment are tested with SDK
 * mocks in test/unit/deploy-spokes.test.ts) with stacks in two accounts and two regions.
 * The CLI's calls are evaluated against infra/user-policy-deploy.json by the IAM audit.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { useIamAudit } from '../support/iam-audit.js';
import { createZone, useMoto } from '../support/moto.js';
import { ACCOUNT_A, ACCOUNT_B, EXTERNAL_ID, HUB_ACCOUNT, HUB_BUS_ARN, HUB_ROLE_ARN, spokeClients } from '../support/hub.js';

const show = (r: { code: number; stdout: string; stderr: string }) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('ec2ip deploy for many accounts, on moto', () => {
  useMoto();
  useIamAudit('deployer');
  const env = { AWS_MAX_ATTEMPTS: '1' };

  it('deploys the hub: infra/hub.yaml with the spokes, the external id, its bus and the role the spokes trust', async () => {
    const zone = await createZone('example.com');
    const run = await cli(['deploy', '--hub', '--skip-build', '--hosted-zone-id', zone, '--spoke-external-id', EXTERNAL_ID, '--spoke-list', `${ACCOUNT_A}:us-east-1,${ACCOUNT_B}:eu-west-1`, '--member-accounts', `${ACCOUNT_A},${ACCOUNT_B}`, '--json'], env);
    expect(run.code, show(run)).toBe(0);
    expect(run.stderr).toMatch(/Validating \S*infra\/hub\.yaml/);
    // No --spoke-names and the name template {name}: every member account can claim every free name.
    expect(run.stderr).toContain('Warning: with the name template {name} and no --spoke-names, every member account can claim every free name');
    expect(JSON.parse(run.stdout)).toMatchObject({ stack: 'ec2ip', status: 'CREATE_COMPLETE' });
    const cfn = (await spokeClients({ account: '123456789012', region: 'us-east-1' })).cfn;
    const [stack] = (await cfn.send(new DescribeStacksCommand({ StackName: 'ec2ip' }))).Stacks ?? [];
    expect(Object.fromEntries((stack?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]))).toMatchObject({ Spokes: `${ACCOUNT_A}:us-east-1,${ACCOUNT_B}:eu-west-1`, NameTemplate: '{name}' });

  });

  it('refuses hub settings without --hub, and a hub without spokes', async () => {
    const stray = await cli(['deploy', '--skip-build', '--hosted-zone-id', 'Z1', '--spoke-list', `${ACCOUNT_A}:us-east-1`], env);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--spoke-list is a hub setting: add --hub');
    const none = await cli(['deploy', '--hub', '--skip-build', '--hosted-zone-id', 'Z1', '--spoke-external-id', EXTERNAL_ID, '--dry-run'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('a hub needs its spokes');
  });

  it('deploys the spokes as a StackSet in two accounts and two regions, showing each one, and adds only what is missing the second time', async () => {
    const args = ['deploy', '--spokes', '--accounts', `${ACCOUNT_A},${ACCOUNT_B}`, '--regions', 'us-east-1,eu-west-1', '--hub-event-bus-arn', HUB_BUS_ARN, '--hub-function-role-arn', HUB_ROLE_ARN, '--spoke-external-id', EXTERNAL_ID];
    const run = await cli(args, env);
    expect(run.code, show(run)).toBe(0);
    expect(run.stderr).toContain('Creating the StackSet ec2ip-spokes (self-managed)');
    for (const account of [ACCOUNT_A, ACCOUNT_B]) for (const region of ['us-east-1', 'eu-west-1']) expect(run.stderr).toMatch(new RegExp(`${account}\\s+${region}\\s+SUCCEEDED`));
    expect(run.stdout.trim().split('\n')).toHaveLength(5);
    expect(run.stdout).toMatch(new RegExp(`${ACCOUNT_B}\\s+eu-west-1\\s+CURRENT`));
    // The spoke stacks exist in the member accounts, with the role the hub assumes.
    const a = await spokeClients({ account: ACCOUNT_A, region: 'eu-west-1' });
    const { Stacks = [] } = await a.cfn.send(new DescribeStacksCommand({}));
    expect(Stacks.map((s) => s.StackStatus)).toEqual(['CREATE_COMPLETE']);

    const second = await cli([...args.slice(0, 3), `${ACCOUNT_A},${ACCOUNT_B},333333333333`, ...args.slice(4)], env);
    expect(second.code, show(second)).toBe(0);
    expect(second.stderr).toContain('Updating the StackSet ec2ip-spokes');
    expect(second.stderr).toContain('Adding the spokes in 333333333333 × us-east-1, eu-west-1');
    expect(second.stdout.trim().split('\n')).toHaveLength(7);
  });

  it('reads the hub\'s outputs from the hub stack when they are not given', async () => {
    const zone = await createZone('example.com');
    const hub = await cli(['deploy', '--hub', '--skip-build', '--hosted-zone-id', zone, '--spoke-external-id', EXTERNAL_ID, '--spoke-stack-set', 'ec2ip-spokes'], env);
    expect(hub.code, show(hub)).toBe(0);
    const operator = `arn:aws:iam::${HUB_ACCOUNT}:role/ec2ip-operator`;
    const run = await cli(['deploy', '--spokes', '--accounts', ACCOUNT_A, '--regions', 'us-east-1', '--spoke-external-id', EXTERNAL_ID, '--operator-arn', operator, '--json'], env);
    expect(run.code, show(run)).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ stackSet: 'ec2ip-spokes', instances: [{ account: ACCOUNT_A, region: 'us-east-1', status: 'CURRENT' }] });
    // The spoke's trust names the operator (docs/many-accounts.md: plan and reconcile from a shell).
    const { Stacks = [] } = await (await spokeClients({ account: ACCOUNT_A, region: 'us-east-1' })).cfn.send(new DescribeStacksCommand({}));
    expect(Stacks[0]?.Parameters).toContainEqual(expect.objectContaining({ ParameterKey: 'OperatorArn', ParameterValue: operator }));
  });

  it('says what is missing when there is no hub stack to read', async () => {
    const run = await cli(['deploy', '--spokes', '--accounts', ACCOUNT_A, '--regions', 'us-east-1', '--spoke-external-id', EXTERNAL_ID], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--hub-event-bus-arn and --hub-function-role-arn');
  });
});
