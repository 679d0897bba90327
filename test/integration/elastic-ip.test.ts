/** Elastic IP mode on moto: attach, then publish the Elastic IP, and never take one from elsewhere. */
import { AllocateAddressCommand, AssociateAddressCommand, CreateTagsCommand, DescribeAddressesCommand, DisassociateAddressCommand } from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { scheduledEvent, stateChangeEvent } from '../support/events.js';
import { createZone, describe as describeInstance, getParameters, listRecords, loadHandler, runInstance, useMoto, type Handler } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

describe('Elastic IP mode on moto', () => {
  const aws = useMoto();
  useIamAudit('function');
  let zone: string;
  let handler: Handler;

  beforeEach(async () => {
    zone = await createZone('example.com');
    handler = await loadHandler({ HOSTED_ZONE_ID: zone, PRIVATE_HOSTED_ZONE_ID: undefined, ENABLE_ELASTIC_IP: 'true', PARAMETER_PREFIX: undefined, OWNER_ID: undefined, ON_STOP: undefined, RECORD_TTL: undefined });
  });

  const allocate = async (pooled = true) => {
    const a = await aws.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    if (pooled) await aws.ec2.send(new CreateTagsCommand({ Resources: [a.AllocationId as string], Tags: [{ Key: 'ec2ip:pool', Value: 'yes' }] }));
    return { id: a.AllocationId as string, ip: a.PublicIp as string };
  };
  const addresses = async () => (await aws.ec2.send(new DescribeAddressesCommand({}))).Addresses ?? [];
  const start = (id: string) => captureStdout(() => handler(stateChangeEvent(id, 'running')));
  const publicA = async () => (await listRecords(zone)).find((r) => r.type === 'A')?.values;

  it('attaches the tagged Elastic IP on start and publishes it in the same invocation', async () => {
    const eip = await allocate();
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': eip.id } });
    await start(id);
    expect((await describeInstance(id)).PublicIpAddress).toBe(eip.ip);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(eip.ip);
    expect(await publicA()).toEqual([eip.ip]);
  });

  it('picks a free address from the pool for auto, and makes no call once it is attached', async () => {
    await allocate(false);
    const pooled = await allocate();
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': 'auto' } });
    await start(id);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(pooled.ip);
    const { lines } = await start(id);
    expect(lines.filter((l) => String(l.message).startsWith('elastic ip'))).toEqual([]);
  });

  it('leaves an address held by another instance alone and publishes the ordinary public IP', async () => {
    const eip = await allocate();
    const other = await runInstance();
    await aws.ec2.send(new AssociateAddressCommand({ AllocationId: eip.id, InstanceId: other }));
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': eip.id } });
    const own = (await describeInstance(id)).PublicIpAddress;
    const { lines } = await start(id);
    expect((await addresses()).find((a) => a.AllocationId === eip.id)?.InstanceId).toBe(other);
    expect(await publicA()).toEqual([own]);
    expect(lines.filter((l) => l.message === 'elastic ip not attached')).toEqual([expect.objectContaining({ instanceId: id, reason: expect.stringContaining(`associated with ${other}`) })]);
    expect(lines.find((l) => l._aws)).toMatchObject({ ElasticIpProblems: 1 });
  });

  it('publishes the ordinary public IP when the allocation is missing or the pool is empty', async () => {
    const a = await runInstance({ tags: { 'ec2ip:name': 'a', 'ec2ip:eip': 'eipalloc-0123456789abcdef0' } });
    const b = await runInstance({ tags: { 'ec2ip:name': 'b', 'ec2ip:eip': 'auto' } });
    await captureStdout(() => handler(stateChangeEvent(a, 'running')));
    await captureStdout(() => handler(stateChangeEvent(b, 'running')));
    const params = await getParameters('/ec2ip');
    expect(params['/ec2ip/a/public-ip']).toBe((await describeInstance(a)).PublicIpAddress);
    expect(params['/ec2ip/b/public-ip']).toBe((await describeInstance(b)).PublicIpAddress);
  });

  it('re-attaches a detached address at the reconcile and never changes how many addresses exist', async () => {
    const eip = await allocate();
    await allocate();
    const before = (await addresses()).map((a) => a.AllocationId).sort();
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': eip.id } });
    await start(id);
    const association = (await addresses()).find((a) => a.AllocationId === eip.id)?.AssociationId;
    await aws.ec2.send(new DisassociateAddressCommand({ AssociationId: association }));
    expect((await describeInstance(id)).PublicIpAddress).not.toBe(eip.ip);

    await captureStdout(() => handler(scheduledEvent()));
    expect((await describeInstance(id)).PublicIpAddress).toBe(eip.ip);
    expect(await publicA()).toEqual([eip.ip]);
    expect((await addresses()).map((a) => a.AllocationId).sort()).toEqual(before);
  });

  it('attaches nothing when ENABLE_ELASTIC_IP is off', async () => {
    const off = await loadHandler({ HOSTED_ZONE_ID: zone, ENABLE_ELASTIC_IP: undefined });
    const eip = await allocate();
    const id = await runInstance({ tags: { 'ec2ip:name': 'web', 'ec2ip:eip': eip.id } });
    const before = await addresses();
    const own = (await describeInstance(id)).PublicIpAddress;
    expect(own).toBeDefined();
    const { result, lines } = await captureStdout(() => off(stateChangeEvent(id, 'running')));
    expect(result).toEqual({ status: 'done', items: 1 });
    expect((await addresses()).find((a) => a.AllocationId === eip.id)?.AssociationId).toBeUndefined();
    expect(await addresses()).toEqual(before);
    // Published with its ordinary public IP, and no word about Elastic IPs.
    expect(await publicA()).toEqual([own]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(own);
    expect(lines.filter((l) => String(l.message).startsWith('elastic ip'))).toEqual([]);
  });
});
