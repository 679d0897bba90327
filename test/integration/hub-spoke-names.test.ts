/**
 * Names per member account on moto: the built Lambda as a hub over two accounts with
 * SPOKE_NAMES="111111111111:*.dev,222222222222:web|api". Each account claims the names of its
 * rule; a claim outside it is refused (logged with the account and the rule, counted), also
 * when that account launched first, and the shared zone keeps no trace of it.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, stateChangeEvent, scheduledEvent } from '../support/events.js';
import { createZone, listRecords, loadHandler, useMoto, type Handler } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';
import { ACCOUNT_A, ACCOUNT_B, deploySpokeStack, hubEnv, hubOwnership, runSpokeInstance, spokeClients, spokeParameters, type Spoke, type SpokeClients } from '../support/hub.js';

const A_EAST: Spoke = { account: ACCOUNT_A, region: 'us-east-1' };
const B_EAST: Spoke = { account: ACCOUNT_B, region: 'us-east-1' };
const RULES = `${ACCOUNT_A}:*.dev,${ACCOUNT_B}:web|api`;
const HUB_VARS = ['SPOKE_ROLE_NAME', 'SPOKE_EXTERNAL_ID', 'SPOKES', 'SPOKE_STACK_SET', 'NAME_TEMPLATE', 'SPOKE_NAMES'];

const event = (id: string, state: string, spoke: Spoke) => stateChangeEvent(id, state, { account: spoke.account, region: spoke.region });
const records = async (zone: string) => (await listRecords(zone)).filter((r) => r.type === 'A' || r.type === 'TXT').map((r) => `${r.type} ${r.name} ${r.values.join(' ')}`).sort();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a hub with SPOKE_NAMES on moto', () => {
  useMoto();
  useIamAudit('hub');
  let zone: string;
  let hub: Handler;
  let a: SpokeClients;
  let b: SpokeClients;

  beforeEach(async () => {
    zone = await createZone('example.com');
    a = await spokeClients(A_EAST);
    b = await spokeClients(B_EAST);
    await deploySpokeStack(a);
    await deploySpokeStack(b);
    hub = await loadHandler(hubEnv(zone, [A_EAST, B_EAST], { SPOKE_NAMES: RULES }));
  });
  afterAll(() => {
    for (const name of HUB_VARS) delete process.env[name];
  });

  it('publishes the names of each rule and refuses one outside it, naming the account and the rule', async () => {
    const dev = await runSpokeInstance(a, { 'ec2ip:name': 'db.dev' });
    const vpn = await runSpokeInstance(a, { 'ec2ip:name': 'vpn' });
    const web = await runSpokeInstance(b, { 'ec2ip:name': 'web' });
    const { result, lines } = await captureStdout(() => hub(sqsEvent([event(dev, 'running', A_EAST), event(vpn, 'running', A_EAST), event(web, 'running', B_EAST)])));
    expect(result).toEqual({ batchItemFailures: [] });
    const zoneRecords = await records(zone);
    expect(zoneRecords.filter((r) => r.startsWith('TXT '))).toEqual([`TXT _ec2ip.db.dev.example.com ${hubOwnership(dev, A_EAST)}`, `TXT _ec2ip.web.example.com ${hubOwnership(web, B_EAST)}`]);
    expect(zoneRecords.filter((r) => r.startsWith('A ')).map((r) => r.split(' ')[1])).toEqual(['db.dev.example.com', 'web.example.com']);
    expect(lines.filter((l) => l.message === 'name refused')).toEqual([
      expect.objectContaining({ instanceId: vpn, account: ACCOUNT_A, region: 'us-east-1', reason: expect.stringContaining(`SPOKE_NAMES rule "${ACCOUNT_A}:*.dev", and "vpn" is not one of them`) }),
    ]);
    expect(lines.find((l) => l._aws)).toMatchObject({ Refused: 1 });
    // The account's own parameters are its own: they do not touch the shared zone.
    expect(await spokeParameters(a)).toMatchObject({ '/ec2ip/db.dev/instance-id': dev });
  });

  it("does not let an account take another account's name by launching first", async () => {
    const early = await runSpokeInstance(a, { 'ec2ip:name': 'api' });
    await sleep(1100); // moto's LaunchTime has whole seconds
    const late = await runSpokeInstance(b, { 'ec2ip:name': 'api' });
    const { lines } = await captureStdout(() => hub(scheduledEvent()));
    expect((await records(zone)).filter((r) => r.startsWith('TXT '))).toEqual([`TXT _ec2ip.api.example.com ${hubOwnership(late, B_EAST)}`]);
    expect(lines.filter((l) => l.message === 'name refused').map((l) => [l.instanceId, l.account])).toEqual([[early, ACCOUNT_A]]);
    expect(lines.filter((l) => l.message === 'name conflict')).toEqual([]);
  });
});
