/**
 * Hub and spokes on moto: the built Lambda in the DNS account (123456789012) publishes the
 * instances of two member accounts in two regions. It assumes the spoke roles that
 * infra/spoke.yaml creates in each account, reads the instances and writes the parameters
 * there, and writes the zone itself with one change batch per zone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, stateChangeEvent, scheduledEvent, tagChangeEvent } from '../support/events.js';
import { createZone, listRecords, loadHandler, motoEndpoint, putRecord, useMoto, type Handler } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { cli } from '../support/cli.js';
import { startProxy, countCalls, type AwsProxy } from '../support/aws-proxy.js';
import { useIamAudit } from '../support/iam-audit.js';
import {
  ACCOUNT_A,
  ACCOUNT_B,
  createSpokeStackSet,
  deploySpokeStack,
  hubEnv,
  hubOwnership,
  runSpokeInstance,
  spokeClients,
  spokeParameters,
  stopSpokeInstance,
  terminateSpokeInstance,
  type Spoke,
  setAccountAlias,
  type SpokeClients,
} from '../support/hub.js';

const A_EAST: Spoke = { account: ACCOUNT_A, region: 'us-east-1' };
const A_WEST: Spoke = { account: ACCOUNT_A, region: 'eu-west-1' };
const B_EAST: Spoke = { account: ACCOUNT_B, region: 'us-east-1' };
const B_WEST: Spoke = { account: ACCOUNT_B, region: 'eu-west-1' };
const SPOKES = [A_EAST, A_WEST, B_EAST, B_WEST];
const HUB_VARS = ['SPOKE_ROLE_NAME', 'SPOKE_EXTERNAL_ID', 'SPOKES', 'SPOKE_STACK_SET', 'NAME_TEMPLATE'];

const event = (id: string, state: string, spoke: Spoke) => stateChangeEvent(id, state, { account: spoke.account, region: spoke.region });
const records = async (zone: string) => (await listRecords(zone)).map((r) => `${r.type} ${r.name} ${r.values.join(' ')}`).sort();

describe('hub and spokes on moto', () => {
  useMoto();
  const audit = useIamAudit('hub');

  describe('a hub over two accounts and two regions', () => {
    let zone: string;
    let hub: Handler;
    const spoke = new Map<Spoke, SpokeClients>();
    const at = (s: Spoke) => spoke.get(s) as SpokeClients;

    beforeEach(async () => {
      zone = await createZone('example.com');
      for (const s of SPOKES) {
        const clients = await spokeClients(s);
        spoke.set(s, clients);
        await deploySpokeStack(clients);
      }
      hub = await loadHandler(hubEnv(zone, SPOKES));
    });
    afterAll(() => {
      for (const name of HUB_VARS) delete process.env[name];
    });

    it('publishes events of both accounts from one SQS batch: records in the hub zone, parameters in each account', async () => {
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const b = await runSpokeInstance(at(B_WEST), { 'ec2ip:name': 'db' });
      const { result } = await captureStdout(() => hub(sqsEvent([event(a, 'running', A_EAST), event(b, 'running', B_WEST)])));
      expect(result).toEqual({ batchItemFailures: [] });
      const zoneRecords = await records(zone);
      expect(zoneRecords).toContain(`TXT _ec2ip.web.example.com ${hubOwnership(a, A_EAST)}`);
      expect(zoneRecords).toContain(`TXT _ec2ip.db.example.com ${hubOwnership(b, B_WEST)}`);
      expect(zoneRecords.filter((r) => r.startsWith('A '))).toHaveLength(2);
      expect(await spokeParameters(at(A_EAST))).toMatchObject({ '/ec2ip/web/instance-id': a });
      expect(await spokeParameters(at(B_WEST))).toMatchObject({ '/ec2ip/db/instance-id': b });
      // Each account's parameters stay in that account and region.
      expect(await spokeParameters(at(A_WEST))).toEqual({});
      expect(await spokeParameters(at(B_EAST))).toEqual({});
    });

    it('lists every account\'s names from the hub with `ec2ip list --hub`', async () => {
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const b = await runSpokeInstance(at(B_WEST), { 'ec2ip:name': 'db' });
      await captureStdout(() => hub(sqsEvent([event(a, 'running', A_EAST), event(b, 'running', B_WEST)])));
      const run = await cli(['list', '--hub', '--hosted-zone-id', zone, '--owner-id', 'ec2ip-hub']);
      expect(run.code, run.stderr).toBe(0);
      const rows = run.stdout.trim().split('\n');
      expect(rows[0]).toMatch(/^NAME\s+ACCOUNT\s+REGION\s+INSTANCE\s+PUBLIC IP\s+PRIVATE IP\s+HOSTNAME$/);
      expect(rows.slice(1)).toEqual([
        expect.stringMatching(new RegExp(`^db\\s+${ACCOUNT_B}\\s+eu-west-1\\s+${b}\\s+[\\d.]+\\s+-\\s+db\\.example\\.com$`)),
        expect.stringMatching(new RegExp(`^web\\s+${ACCOUNT_A}\\s+us-east-1\\s+${a}\\s+[\\d.]+\\s+-\\s+web\\.example\\.com$`)),
      ]);
      const json = await cli(['list', '--hub', '--json', '--hosted-zone-id', zone, '--owner-id', 'ec2ip-hub']);
      expect(JSON.parse(json.stdout)).toEqual([
        expect.objectContaining({ name: 'db', account: ACCOUNT_B, region: 'eu-west-1', instanceId: b, hostname: 'db.example.com' }),
        expect.objectContaining({ name: 'web', account: ACCOUNT_A, region: 'us-east-1', instanceId: a }),
      ]);
    });

    it('plans and reconciles every spoke from the CLI with the hub\'s settings (as the hub\'s role)', async () => {
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const b = await runSpokeInstance(at(B_WEST), { 'ec2ip:name': 'db' });
      const env = hubEnv(zone, SPOKES);
      const plan = await cli(['plan'], env);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`+ create /ec2ip/web/instance-id = ${a} (account ${ACCOUNT_A}, us-east-1)`);
      expect(plan.stdout).toContain(`+ CREATE TXT _ec2ip.db.example.com ${hubOwnership(b, B_WEST)}`);
      expect(await records(zone)).toEqual([]);
      const run = await cli(['reconcile'], env);
      expect(run.code, run.stderr).toBe(0);
      expect((await records(zone)).filter((r) => r.startsWith('TXT'))).toEqual([`TXT _ec2ip.db.example.com ${hubOwnership(b, B_WEST)}`, `TXT _ec2ip.web.example.com ${hubOwnership(a, A_EAST)}`]);
      expect(await spokeParameters(at(B_WEST))).toMatchObject({ '/ec2ip/db/instance-id': b });
    });

    it('gives a name wanted in two accounts to the earlier launch and names both accounts in the refusal', async () => {
      const first = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      // moto's LaunchTime has whole seconds: launched in the same second, the smaller id would win.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const second = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'web' });
      const { lines } = await captureStdout(() => hub(sqsEvent([event(second, 'running', B_EAST), event(first, 'running', A_EAST)])));
      const txt = (await listRecords(zone)).filter((r) => r.type === 'TXT');
      expect(txt.map((r) => r.values[0])).toEqual([hubOwnership(first, A_EAST)]);
      const conflict = lines.filter((l) => l.message === 'name conflict');
      expect(conflict).toEqual([expect.objectContaining({ instanceId: second, account: ACCOUNT_B, region: 'us-east-1', zone: 'example.com' })]);
      expect(conflict[0]?.reason).toContain(`account ${ACCOUNT_A}`);
      expect(conflict[0]?.reason).toContain(`account ${ACCOUNT_B}`);
      // Each account still has its own parameters for its own instance.
      expect(await spokeParameters(at(B_EAST))).toMatchObject({ '/ec2ip/web/instance-id': second });

      // The owner keeps the name while it runs; when it terminates, the other account takes it.
      await terminateSpokeInstance(at(A_EAST), first);
      await captureStdout(() => hub(sqsEvent([event(first, 'terminated', A_EAST), event(second, 'running', B_EAST)])));
      const after = (await listRecords(zone)).filter((r) => r.type === 'TXT');
      expect(after.map((r) => r.values[0])).toEqual([hubOwnership(second, B_EAST)]);
    });

    it('never deletes another account\'s record for an event that names its instance id from a different account', async () => {
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      await captureStdout(() => hub(event(a, 'running', A_EAST)));
      const before = await records(zone);
      // Account B sends a "terminated" event carrying account A's instance id.
      const { result } = await captureStdout(() => hub(sqsEvent([event(a, 'terminated', B_EAST)])));
      expect(result).toEqual({ batchItemFailures: [] });
      expect(await records(zone)).toEqual(before);
    });

    it('gives names per region with NAME_TEMPLATE={name}.{region}', async () => {
      hub = await loadHandler(hubEnv(zone, SPOKES, { NAME_TEMPLATE: '{name}.{region}' }));
      const east = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const west = await runSpokeInstance(at(A_WEST), { 'ec2ip:name': 'web' });
      await captureStdout(() => hub(sqsEvent([event(east, 'running', A_EAST), event(west, 'running', A_WEST)])));
      const names = (await listRecords(zone)).filter((r) => r.type === 'A').map((r) => r.name).sort();
      expect(names).toEqual(['web.eu-west-1.example.com', 'web.us-east-1.example.com']);
      // Parameters carry the plain name, in each region's SSM.
      expect(await spokeParameters(at(A_WEST))).toMatchObject({ '/ec2ip/web/instance-id': west });
    });

    it('gives names per account with NAME_TEMPLATE={name}.{account-alias}, and refuses an account without an alias', async () => {
      hub = await loadHandler(hubEnv(zone, SPOKES, { NAME_TEMPLATE: '{name}.{account-alias}' }));
      await setAccountAlias(at(A_EAST), 'acme-prod');
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const b = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'web' });
      const { result, lines } = await captureStdout(() => hub(sqsEvent([event(a, 'running', A_EAST), event(b, 'running', B_EAST)])));
      expect(result).toEqual({ batchItemFailures: [] });
      const names = (await listRecords(zone)).filter((r) => r.type === 'A').map((r) => r.name);
      expect(names).toEqual(['web.acme-prod.example.com']);
      const refused = lines.filter((l) => l.instanceId === b && typeof l.reason === 'string');
      expect(refused.map((l) => l.reason)).toEqual([expect.stringContaining(`account ${ACCOUNT_B} has none: set one there (aws iam create-account-alias`)]);
      // Parameters carry the plain name, in each account.
      expect(await spokeParameters(at(B_EAST))).toMatchObject({ '/ec2ip/web/instance-id': b });
    });

    it('reconciles every spoke: publishes what events missed and releases the names of terminated instances', async () => {
      const ids = new Map<Spoke, string>();
      for (const [i, s] of SPOKES.entries()) ids.set(s, await runSpokeInstance(at(s), { 'ec2ip:name': `host${i}` }));
      const { result, lines } = await captureStdout(() => hub(scheduledEvent()));
      expect(result).toEqual({ status: 'done', items: 1 });
      expect((await listRecords(zone)).filter((r) => r.type === 'A')).toHaveLength(4);
      for (const [i, s] of SPOKES.entries()) expect(await spokeParameters(at(s))).toMatchObject({ [`/ec2ip/host${i}/instance-id`]: ids.get(s) });
      expect(lines.find((l) => l.message === 'reconcile done')).toMatchObject({ instances: 4 });

      await terminateSpokeInstance(at(B_WEST), ids.get(B_WEST) as string);
      await captureStdout(() => hub(scheduledEvent()));
      expect((await listRecords(zone)).filter((r) => r.type === 'A').map((r) => r.name).sort()).toEqual(['host0.example.com', 'host1.example.com', 'host2.example.com']);
      expect(await spokeParameters(at(B_WEST))).toEqual({});
    });

    it('leaves alone a single-account stack\'s record and another hub\'s record in the same zone', async () => {
      await putRecord(zone, { name: '_ec2ip.web.example.com', type: 'TXT', values: ['"heritage=ec2ip,owner=ec2ip-hub,region=us-east-1,instance=i-0123456789abcdef0"'], ttl: 60 });
      await putRecord(zone, { name: 'web.example.com', type: 'A', values: ['9.9.9.9'], ttl: 60 });
      await putRecord(zone, { name: '_ec2ip.api.example.com', type: 'TXT', values: [hubOwnership('i-0fedcba9876543210', A_EAST, 'other-hub')], ttl: 60 });
      await putRecord(zone, { name: 'api.example.com', type: 'A', values: ['8.8.8.8'], ttl: 60 });
      const before = await records(zone);
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const { lines } = await captureStdout(() => hub(event(a, 'running', A_EAST)));
      await captureStdout(() => hub(scheduledEvent()));
      expect(await records(zone)).toEqual(before);
      expect(lines.filter((l) => l.message === 'name owned by someone else')).toEqual([expect.objectContaining({ instanceId: a, account: ACCOUNT_A })]);
    });

    it('ignores an event of an account that is not one of SPOKES, and refuses one without account and region', async () => {
      hub = await loadHandler(hubEnv(zone, [A_EAST]));
      const b = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'web' });
      const broken = { ...event(b, 'running', A_EAST), account: undefined, region: undefined };
      const batch = sqsEvent([event(b, 'running', B_EAST), broken]);
      const { result } = await captureStdout(() => hub(batch));
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[1]?.messageId }] });
      expect(await records(zone)).toEqual([]);
    });

    it('handles a tag change in a spoke: a renamed instance gets its new name and releases the old one', async () => {
      const a = await runSpokeInstance(at(A_WEST), { 'ec2ip:name': 'old' });
      await captureStdout(() => hub(event(a, 'running', A_WEST)));
      await at(A_WEST).ec2.send(new (await import('@aws-sdk/client-ec2')).CreateTagsCommand({ Resources: [a], Tags: [{ Key: 'ec2ip:name', Value: 'new' }] }));
      await captureStdout(() => hub(tagChangeEvent(a, { 'ec2ip:name': 'new' }, ['ec2ip:name'], { account: ACCOUNT_A, region: 'eu-west-1' })));
      expect((await listRecords(zone)).filter((r) => r.type === 'A').map((r) => r.name)).toEqual(['new.example.com']);
      expect(Object.keys(await spokeParameters(at(A_WEST))).sort()).toEqual(['/ec2ip/new/instance-id', '/ec2ip/new/private-ip', '/ec2ip/new/public-ip']);
    });

    it('keeps the public record of a stopped instance out and its name, in its account', async () => {
      const a = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'web' });
      await captureStdout(() => hub(event(a, 'running', B_EAST)));
      await stopSpokeInstance(at(B_EAST), a);
      await captureStdout(() => hub(event(a, 'stopped', B_EAST)));
      expect(await records(zone)).toEqual([`TXT _ec2ip.web.example.com ${hubOwnership(a, B_EAST)}`]);
      expect(Object.keys(await spokeParameters(at(B_EAST))).sort()).toEqual(['/ec2ip/web/instance-id', '/ec2ip/web/private-ip']);
    });
  });

  describe('a hub with a spoke it may not enter', () => {
    let proxy: AwsProxy;
    let zone: string;
    let hub: Handler;
    const spoke = new Map<Spoke, SpokeClients>();
    const at = (s: Spoke) => spoke.get(s) as SpokeClients;
    // Moto enforces no trust policy or external id: the proxy refuses AssumeRole of account
    // B's role, as AWS does when the role is missing or the external id is wrong.
    const deniedRole = encodeURIComponent(`arn:aws:iam::${ACCOUNT_B}:role/`);
    let saved: string | undefined;

    beforeAll(() => {
      saved = process.env.AWS_ENDPOINT_URL;
    });
    beforeEach(async () => {
      // The audit records at this proxy too: the AssumeRole it denies is evaluated as well.
      proxy ??= await startProxy({ ...audit.hooks, target: motoEndpoint(), deny: ({ service, action, body }) => service === 'sts' && action === 'AssumeRole' && body.includes(deniedRole) });
      zone = await createZone('example.com');
      for (const s of [A_EAST, B_EAST]) {
        const clients = await spokeClients(s);
        spoke.set(s, clients);
        await deploySpokeStack(clients);
      }
      hub = await loadHandler({ ...hubEnv(zone, [A_EAST, B_EAST]), AWS_ENDPOINT_URL: proxy.url });
      proxy.requests.length = 0;
    });
    afterAll(async () => {
      // Back to the audit's proxy, for the next describe's hub.
      process.env.AWS_ENDPOINT_URL = saved;
      for (const name of HUB_VARS) delete process.env[name];
      await proxy?.stop();
    });

    it('converges the other spoke, sends the denied spoke\'s items back and deletes nothing of it', async () => {
      // Account B's record exists from before its role was removed.
      const b = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'db' });
      await putRecord(zone, { name: '_ec2ip.db.example.com', type: 'TXT', values: [hubOwnership(b, B_EAST)], ttl: 60 });
      await putRecord(zone, { name: 'db.example.com', type: 'A', values: ['7.7.7.7'], ttl: 60 });
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const a2 = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'db' });

      const batch = sqsEvent([event(a, 'running', A_EAST), event(b, 'terminated', B_EAST), event(a2, 'running', A_EAST)]);
      const { result, lines } = await captureStdout(() => hub(batch));
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[1]?.messageId }] });
      // An unreachable spoke's item comes back later than a throttled write's (core/backoff.ts).
      expect(lines.filter((l) => l.message === 'item will be retried')).toEqual([expect.objectContaining({ messageId: batch.Records[1]?.messageId, retryInSeconds: 20, receiveCount: 1 })]);
      const zoneRecords = await records(zone);
      expect(zoneRecords).toContain(`TXT _ec2ip.web.example.com ${hubOwnership(a, A_EAST)}`);
      // B's name stays B's: its owner could not be looked up, so it is assumed alive.
      expect(zoneRecords).toContain(`TXT _ec2ip.db.example.com ${hubOwnership(b, B_EAST)}`);
      expect(zoneRecords).toContain('A db.example.com 7.7.7.7');
      const unreachable = lines.find((l) => l.message === 'spoke unreachable; skipped, its records are kept and its items retried');
      expect(unreachable).toMatchObject({ account: ACCOUNT_B, region: 'us-east-1' });
      expect(String(unreachable?.reason)).toContain('AccessDenied');
      expect(lines.find((l) => l._aws)).toMatchObject({ SpokesUnreachable: 1 });
      expect(await spokeParameters(at(A_EAST))).toMatchObject({ '/ec2ip/web/instance-id': a });

      // One change batch for the zone, whatever the number of spokes.
      expect(countCalls(proxy.requests)['route53:ChangeResourceRecordSets']).toBe(1);
    });

    it('reconciles the reachable spoke and keeps every record of the unreachable one', async () => {
      const b = await runSpokeInstance(at(B_EAST), { 'ec2ip:name': 'db' });
      await putRecord(zone, { name: '_ec2ip.db.example.com', type: 'TXT', values: [hubOwnership(b, B_EAST)], ttl: 60 });
      await putRecord(zone, { name: 'db.example.com', type: 'A', values: ['7.7.7.7'], ttl: 60 });
      await terminateSpokeInstance(at(B_EAST), b);
      const a = await runSpokeInstance(at(A_EAST), { 'ec2ip:name': 'web' });
      const { result, lines } = await captureStdout(() => hub(scheduledEvent()));
      expect(result).toEqual({ status: 'done', items: 1 });
      const zoneRecords = await records(zone);
      expect(zoneRecords).toContain(`TXT _ec2ip.web.example.com ${hubOwnership(a, A_EAST)}`);
      expect(zoneRecords).toContain(`TXT _ec2ip.db.example.com ${hubOwnership(b, B_EAST)}`);
      expect(lines.find((l) => l.message === 'reconcile done')).toMatchObject({ unreachable: [`${ACCOUNT_B}/us-east-1`] });
    });
  });

  describe('a hub whose spokes are the stack instances of a StackSet', () => {
    afterAll(() => {
      for (const name of HUB_VARS) delete process.env[name];
    });

    it('deploys the spokes as a StackSet, finds them with ListStackInstances and converges all four at the reconcile', async () => {
      const zone = await createZone('example.com');
      // The StackSet (self-managed on moto: its stack instances deploy infra/spoke.yaml into each account and region).
      await createSpokeStackSet([ACCOUNT_A, ACCOUNT_B], ['us-east-1', 'eu-west-1']);
      const ids = new Map<Spoke, string>();
      for (const [i, s] of SPOKES.entries()) ids.set(s, await runSpokeInstance(await spokeClients(s), { 'ec2ip:name': `host${i}` }));

      const hub = await loadHandler(hubEnv(zone, [], { SPOKES: undefined, SPOKE_STACK_SET: 'ec2ip-spokes' }));
      const { result } = await captureStdout(() => hub(scheduledEvent()));
      expect(result).toEqual({ status: 'done', items: 1 });
      const txt = (await listRecords(zone)).filter((r) => r.type === 'TXT').map((r) => r.values[0]).sort();
      expect(txt).toEqual(SPOKES.map((s) => hubOwnership(ids.get(s) as string, s)).sort());
    });
  });
});
