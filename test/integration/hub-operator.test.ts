/**
 * A person runs `ec2ip plan` and `ec2ip reconcile` over a hub's spokes from a shell. The spoke
 * roles trust the hub's function, and the principal the spokes name as OperatorArn, with the
 * same external id (infra/spoke.yaml): here, a user of the hub's account with the read,
 * reconcile and hub-operator policies (docs/many-accounts.md). moto does not check the trust
 * policy, so the IAM audit does: every call the CLI makes with the person's key, and with the
 * spoke sessions it assumed, is evaluated against those policies and the spokes' trust policy
 * as deployed here. Both ways of knowing the spokes: the SPOKES list, and the StackSet's
 * instances (SPOKE_STACK_SET, ListStackInstances with the person's key).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { cliAs } from '../support/cli.js';
import { ACCOUNT_A, ACCOUNT_B, createSpokeStackSet, deploySpokeStack, hubEnv, hubOwnership, runSpokeInstance, spokeClients, spokeParameters, type Spoke, type SpokeClients } from '../support/hub.js';
import { userPrincipal, useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { createZone, listRecords, useMoto } from '../support/moto.js';

const A_EAST: Spoke = { account: ACCOUNT_A, region: 'us-east-1' };
const B_WEST: Spoke = { account: ACCOUNT_B, region: 'eu-west-1' };
const SPOKES = [A_EAST, B_WEST];
const POLICIES = [USER_POLICIES.read, USER_POLICIES.reconcile, USER_POLICIES.hubOperator];
const OPERATOR = { OperatorArn: userPrincipal(POLICIES).arn };

const records = async (zone: string) => (await listRecords(zone)).map((r) => `${r.type} ${r.name} ${r.values.join(' ')}`).sort();

describe("the operator of a hub's spokes on moto", () => {
  useMoto();
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: POLICIES, spokeParams: OPERATOR });
  const cli = (args: string[], env: Record<string, string | undefined>) => cliAs(USER_ACCESS_KEY, args, env);
  let zone: string;
  const spoke = new Map<Spoke, SpokeClients>();
  const at = (s: Spoke) => spoke.get(s) as SpokeClients;

  describe('over the spokes listed in SPOKES', () => {
    beforeEach(async () => {
      zone = await createZone('example.com');
      for (const s of SPOKES) {
        const clients = await spokeClients(s);
        spoke.set(s, clients);
        await deploySpokeStack(clients, OPERATOR);
      }
    });

    it('plans and reconciles every spoke with the hub\'s settings, assuming the spoke roles with the external id', async () => {
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const b = await runSpokeInstance(at(B_WEST), { 'ec2ip:name': 'db' });
      // The person's zone id in the reconcile policy, as docs/scripts.md tells them to write it.
      audit.edit({ PUBLIC_ZONE_ID: zone, PRIVATE_ZONE_ID: zone });
      const env = hubEnv(zone, SPOKES);

      const plan = await cli(['plan'], env);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`+ create /ec2ip/web/instance-id = ${a} (account ${ACCOUNT_A}, us-east-1)`);
      expect(plan.stdout).toContain(`+ create /ec2ip/db/instance-id = ${b} (account ${ACCOUNT_B}, eu-west-1)`);
      expect(plan.stdout).toContain(`+ CREATE TXT _ec2ip.db.example.com ${hubOwnership(b, B_WEST)}`);
      expect(await records(zone)).toEqual([]);

      const run = await cli(['reconcile'], env);
      expect(run.code, run.stderr).toBe(0);
      expect((await records(zone)).filter((r) => r.startsWith('TXT'))).toEqual([`TXT _ec2ip.db.example.com ${hubOwnership(b, B_WEST)}`, `TXT _ec2ip.web.example.com ${hubOwnership(a, A_EAST)}`]);
      expect(await spokeParameters(at(A_EAST))).toMatchObject({ '/ec2ip/web/instance-id': a });
      expect(await spokeParameters(at(B_WEST))).toMatchObject({ '/ec2ip/db/instance-id': b });

      // What the audit evaluated: the person's AssumeRole of each spoke role, and calls made with the sessions it handed out.
      const again = await cli(['plan'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/no changes|nothing to change/i);
      expect(audit.pending.filter((c) => c.service === 'sts' && c.action === 'AssumeRole').length).toBeGreaterThan(0);
      expect(audit.pending.filter((c) => c.service === 'ssm' && c.accessKeyId !== USER_ACCESS_KEY).length).toBeGreaterThan(0);
    });
  });

  it('finds the spokes of the StackSet with ListStackInstances (SPOKE_STACK_SET) and plans over them', async () => {
    zone = await createZone('example.com');
    // The StackSet's stack instances deploy infra/spoke.yaml, naming the operator, into each account and region.
    await createSpokeStackSet([ACCOUNT_A, ACCOUNT_B], ['us-east-1', 'eu-west-1'], OPERATOR);
    const b = await runSpokeInstance(await spokeClients(B_WEST), { 'ec2ip:name': 'db' });

    const plan = await cli(['plan'], hubEnv(zone, [], { SPOKES: undefined, SPOKE_STACK_SET: 'ec2ip-spokes' }));
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`+ create /ec2ip/db/instance-id = ${b} (account ${ACCOUNT_B}, eu-west-1)`);
    expect(audit.pending.filter((c) => c.service === 'cloudformation' && c.action === 'ListStackInstances').length).toBeGreaterThan(0);
    // All four spokes were assumed: two accounts × two regions.
    expect(new Set(audit.pending.filter((c) => c.action === 'AssumeRole').map((c) => new URLSearchParams(c.body).get('RoleArn'))).size).toBe(4);
  });
});
