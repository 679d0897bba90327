/** The scheduled reconcile and tag-change events: the built Lambda against moto. */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { ownershipValue } from '../support/convergence.js';
import { scheduledEvent, stateChangeEvent, tagChangeEvent } from '../support/events.js';
import {
  describe as describeInstance,
  getParameters,
  listRecords,
  putParameter,
  putRecord,
  runInstance,
  startInstances,
  stopInstances,
  tagInstance,
  terminateInstances,
  untagInstance,
  useMoto,
  useTwoZones,
} from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

const ownership = ownershipValue;

describe('reconcile on moto', () => {
  const aws = useMoto();
  useIamAudit('function');
  const world = useTwoZones();

  const invoke = (event: unknown) => captureStdout(() => world.handler(event));
  const publish = async (...ids: string[]) => {
    for (const id of ids) await invoke(stateChangeEvent(id, 'running'));
  };
  const names = async (zone: string) => (await listRecords(zone)).map((r) => `${r.type} ${r.name} ${r.values.join(' ')}`).sort();

  it('repairs a deleted record, a deleted parameter, a terminate and a restart whose events were lost, and touches nothing of another owner or region', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const api = await runInstance({ tags: { 'ec2ip:name': 'api' } });
    const db = await runInstance({ tags: { 'ec2ip:name': 'db' } });
    const app = await runInstance({ tags: { 'ec2ip:name': 'app' } });
    await publish(web, api, db, app);
    const foreign = [
      { name: 'mail.example.com', type: 'A', values: ['1.1.1.1'] },
      { name: '_ec2ip.other.example.com', type: 'TXT', values: [ownership('i-0fffffffffffffff0', 'other-stack')] },
      { name: 'other.example.com', type: 'A', values: ['2.2.2.2'] },
      { name: '_ec2ip.west.example.com', type: 'TXT', values: [ownership('i-0eeeeeeeeeeeeeee0', 'ec2ip', 'eu-west-1')] },
      { name: 'west.example.com', type: 'A', values: ['3.3.3.3'] },
    ];
    for (const r of foreign) await putRecord(world.publicZone, { ...r, ttl: 60 });
    await putParameter('/elsewhere/web/public-ip', '4.4.4.4');
    const expected = await names(world.publicZone);

    const webA = (await listRecords(world.publicZone)).find((r) => r.name === 'web.example.com' && r.type === 'A');
    await aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: world.publicZone, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: { Name: 'web.example.com.', Type: 'A', TTL: 60, ResourceRecords: webA?.values.map((Value) => ({ Value })) } }] } }));
    await aws.ssm.send(new DeleteParameterCommand({ Name: '/ec2ip/api/public-ip' }));
    await terminateInstances([db]);
    await stopInstances([app]);
    await startInstances([app]);
    const appIp = (await describeInstance(app)).PublicIpAddress as string;

    const { result, lines } = await invoke(scheduledEvent());
    expect(result).toEqual({ status: 'done', items: 1 });

    const dbLines = (r: string) => r.includes(' db.') || r.includes('_ec2ip.db.');
    const appOld = expected.find((r) => r.startsWith('A app.example.com'));
    const want = [...expected.filter((r) => !dbLines(r) && r !== appOld), `A app.example.com ${appIp}`].sort();
    expect(await names(world.publicZone)).toEqual(want);
    expect((await names(world.privateZone)).filter((r) => r.includes('db.'))).toEqual([]);
    const params = await getParameters('/ec2ip');
    expect(params['/ec2ip/api/public-ip']).toBe((await describeInstance(api)).PublicIpAddress);
    expect(params['/ec2ip/app/public-ip']).toBe(appIp);
    expect(Object.keys(params).filter((k) => k.startsWith('/ec2ip/db/'))).toEqual([]);
    expect(await getParameters('/elsewhere')).toEqual({ '/elsewhere/web/public-ip': '4.4.4.4' });

    const summary = lines.find((l) => l.message === 'reconcile done');
    expect(summary).toMatchObject({ instances: 4, recordsDeleted: expect.any(Number), recordsCreated: expect.any(Number), durationMs: expect.any(Number) });
  });

  it('hands a freed name to the waiting claimant and releases names whose owner lost its tag', async () => {
    const owner = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const waiting = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const untagged = await runInstance({ tags: { 'ec2ip:name': 'api' } });
    await publish(owner, waiting, untagged);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/instance-id']).toBe(owner);

    await terminateInstances([owner]);
    await untagInstance(untagged, ['ec2ip:name']);
    await invoke(scheduledEvent());

    const params = await getParameters('/ec2ip');
    expect(params['/ec2ip/web/instance-id']).toBe(waiting);
    expect(Object.keys(params).filter((k) => k.startsWith('/ec2ip/api/'))).toEqual([]);
    expect(await names(world.publicZone)).toEqual([`A web.example.com ${(await describeInstance(waiting)).PublicIpAddress}`, `TXT _ec2ip.web.example.com ${ownership(waiting)}`]);
  });

  it('changes nothing when everything is current', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await publish(web);
    const { lines } = await invoke(scheduledEvent());
    expect(lines.find((l) => l.message === 'reconcile done')).toMatchObject({ recordsCreated: 0, recordsDeleted: 0, parametersWritten: 0, parametersDeleted: 0 });
  });

  it('publishes, moves and releases a name at once on tag-change events', async () => {
    const id = await runInstance();
    await publish(id);
    expect(await listRecords(world.publicZone)).toEqual([]);

    await tagInstance(id, { 'ec2ip:name': 'web' });
    await invoke(tagChangeEvent(id, { 'ec2ip:name': 'web' }, ['ec2ip:name']));
    expect(await names(world.privateZone)).toEqual([`A web.internal.example ${(await describeInstance(id)).PrivateIpAddress}`, `TXT _ec2ip.web.internal.example ${ownership(id)}`]);

    await tagInstance(id, { 'ec2ip:name': 'api' });
    await invoke(tagChangeEvent(id, { 'ec2ip:name': 'api' }, ['ec2ip:name']));
    expect((await names(world.publicZone)).map((r) => r.split(' ')[1])).toEqual(['api.example.com', '_ec2ip.api.example.com']);
    expect(Object.keys(await getParameters('/ec2ip')).sort()).toEqual(['/ec2ip/api/instance-id', '/ec2ip/api/private-ip', '/ec2ip/api/public-ip']);

    await untagInstance(id, ['ec2ip:name']);
    await invoke(tagChangeEvent(id, {}, ['ec2ip:name']));
    expect(await listRecords(world.publicZone)).toEqual([]);
    expect(await listRecords(world.privateZone)).toEqual([]);
    expect(await getParameters('/ec2ip')).toEqual({});
  });
});
