/** Ownership, conflicts, configuration and batches: the built Lambda against moto. */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { ownershipValue } from '../support/convergence.js';
import { sqsEvent, stateChangeEvent } from '../support/events.js';
import {
  getParameters,
  listRecords,
  loadHandler,
  putParameter,
  putRecord,
  runInstance,
  describe as describeInstance,
  stopInstances,
  terminateInstances,
  useMoto,
  useTwoZones,
} from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

const ownership = ownershipValue;

describe('ownership on moto', () => {
  const aws = useMoto();
  useIamAudit('function');
  const world = useTwoZones();
  const zoneEnv = () => ({ HOSTED_ZONE_ID: world.publicZone, PRIVATE_HOSTED_ZONE_ID: world.privateZone });

  const send = (id: string, state: string, h = world.handler) => captureStdout(() => h(stateChangeEvent(id, state)));

  it('claims a free name by CREATE of its ownership record', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const { lines } = await send(id, 'running');
    const published = lines.filter((l) => l.message === 'records published');
    expect(published.map((l) => l.reason)).toEqual(['claim', 'claim']);
    expect(published.find((l) => l.zone === 'example.com')?.changes).toContain(`CREATE TXT _ec2ip.web.example.com. ${ownership(id)}`);
  });

  it('leaves a foreign record alone and still publishes the zone where the name is free', async () => {
    await putRecord(world.publicZone, { name: 'web.example.com', type: 'A', values: ['8.8.8.8'] });
    const before = await listRecords(world.publicZone);
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const { lines, result } = await send(id, 'running');
    expect(result).toEqual({ status: 'done', items: 1 });
    expect(await listRecords(world.publicZone)).toEqual(before);
    expect((await listRecords(world.privateZone)).map((r) => r.name)).toEqual(['web.internal.example', '_ec2ip.web.internal.example']);
    expect(lines.filter((l) => l.message === 'name owned by someone else')).toEqual([
      expect.objectContaining({ instanceId: id, name: 'web', zone: 'example.com', reason: expect.stringContaining('without an ec2ip ownership record') }),
    ]);
    expect(lines.find((l) => l._aws)).toMatchObject({ Refused: 1 });
  });

  it('leaves the records of the same stack name in another region alone', async () => {
    const other = ownership('i-0123456789abcdef0', 'ec2ip', 'eu-west-1');
    await putRecord(world.publicZone, { name: '_ec2ip.web.example.com', type: 'TXT', values: [other], ttl: 60 });
    await putRecord(world.publicZone, { name: 'web.example.com', type: 'A', values: ['9.9.9.9'], ttl: 60 });
    const before = await listRecords(world.publicZone);
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await send(id, 'running');
    await captureStdout(() => world.handler({ version: '0', id: 'x', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} }));
    expect(await listRecords(world.publicZone)).toEqual(before);
  });

  it('keeps a name with its owner, refuses the second claimant, and hands the name over once the owner terminates', async () => {
    const first = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const second = await runInstance({ tags: { 'ec2ip:name': 'Web' } });
    await send(first, 'running');
    const { lines } = await send(second, 'running');
    expect(lines.filter((l) => l.message === 'name conflict').map((l) => [l.instanceId, l.zone])).toEqual([
      [second, 'example.com'],
      [second, 'internal.example'],
      [second, 'SSM'],
    ]);
    expect((await listRecords(world.publicZone)).find((r) => r.type === 'TXT')?.values).toEqual([ownership(first)]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/instance-id']).toBe(first);

    await terminateInstances([first]);
    await send(first, 'terminated');
    await send(second, 'running');
    const secondIp = (await describeInstance(second)).PublicIpAddress;
    expect(await listRecords(world.publicZone)).toEqual([
      { name: 'web.example.com', type: 'A', ttl: 60, values: [secondIp] },
      { name: '_ec2ip.web.example.com', type: 'TXT', ttl: 60, values: [ownership(second)] },
    ]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/instance-id']).toBe(second);
  });

  it('gives a name two instances claim in one batch to the one launched first', async () => {
    const first = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await captureStdout(() => world.handler(sqsEvent([stateChangeEvent(second, 'running'), stateChangeEvent(first, 'running')])));
    expect((await getParameters('/ec2ip'))['/ec2ip/web/instance-id']).toBe(first);
    expect((await listRecords(world.privateZone)).find((r) => r.type === 'TXT')?.values).toEqual([ownership(first)]);
  });

  it('keeps the public record and parameter of a stopped instance with ON_STOP=keep', async () => {
    const keep = await loadHandler({ ...zoneEnv(), ON_STOP: 'keep' });
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const ip = (await describeInstance(id)).PublicIpAddress;
    await send(id, 'running', keep);
    await stopInstances([id]);
    await send(id, 'stopped', keep);
    expect((await listRecords(world.publicZone)).find((r) => r.type === 'A')?.values).toEqual([ip]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(ip);
  });

  it('writes what the configuration says: prefix, TTL and owner id', async () => {
    const custom = await loadHandler({ HOSTED_ZONE_ID: world.publicZone, PRIVATE_HOSTED_ZONE_ID: undefined, PARAMETER_PREFIX: '/team/ips', RECORD_TTL: '30', OWNER_ID: 'stack-a' });
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await send(id, 'running', custom);
    expect(Object.keys(await getParameters('/team/ips')).sort()).toEqual(['/team/ips/web/instance-id', '/team/ips/web/private-ip', '/team/ips/web/public-ip']);
    expect(await getParameters('/ec2ip')).toEqual({});
    expect(await listRecords(world.publicZone)).toEqual([
      expect.objectContaining({ name: 'web.example.com', ttl: 30 }),
      { name: '_ec2ip.web.example.com', type: 'TXT', ttl: 30, values: [ownership(id, 'stack-a')] },
    ]);
    expect(await listRecords(world.privateZone)).toEqual([]);
  });

  it('makes no write at all for a repeated event', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await send(id, 'running');
    const version = async () => (await aws.ssm.send(new GetParameterCommand({ Name: '/ec2ip/web/public-ip' }))).Parameter?.Version;
    const before = await version();
    const { lines } = await send(id, 'running');
    expect(lines.filter((l) => l.message === 'records published' || l.message === 'parameters written')).toEqual([]);
    expect(lines.find((l) => l._aws)).toBeUndefined();
    expect(await version()).toBe(before);
  });

  it('never touches an untagged instance or parameters outside the prefix', async () => {
    await putParameter('/other/web/public-ip', '1.2.3.4');
    const id = await runInstance();
    await send(id, 'running');
    expect(await listRecords(world.publicZone)).toEqual([]);
    expect(await getParameters('/ec2ip')).toEqual({});
    expect(await getParameters('/other')).toEqual({ '/other/web/public-ip': '1.2.3.4' });
  });

  it('reports only the bad item of an SQS batch and publishes the good ones', async () => {
    const a = await runInstance({ tags: { 'ec2ip:name': 'a' } });
    const b = await runInstance({ tags: { 'ec2ip:name': 'b' } });
    const event = sqsEvent([stateChangeEvent(a, 'running'), 'not json {', stateChangeEvent(b, 'running')]);
    const { result, lines } = await captureStdout(() => world.handler(event));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId }] });
    expect(lines.filter((l) => l.level === 'ERROR')).toHaveLength(1);
    expect(Object.keys(await getParameters('/ec2ip')).filter((k) => k.endsWith('instance-id')).sort()).toEqual(['/ec2ip/a/instance-id', '/ec2ip/b/instance-id']);
  });
});
