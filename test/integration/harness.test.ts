/** Proves the moto harness itself: reset, zones, instance lifecycle. */
import { describe, expect, it } from 'vitest';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import {
  createZone,
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
} from '../support/moto.js';

describe('moto harness', () => {
  const aws = useMoto();

  it('points the SDK environment at moto', () => {
    expect(process.env.AWS_ENDPOINT_URL).toBe(aws.endpoint);
    expect(process.env.AWS_REGION).toBe('us-east-1');
    expect(process.env.AWS_ACCESS_KEY_ID).toBe('test');
  });

  // These two run in order (vitest runs a file's tests sequentially).
  it('writes a parameter', async () => {
    await putParameter('/harness/a/value', 'one');
    await putParameter('/harness/b', 'two');
    expect(await getParameters('/harness')).toEqual({ '/harness/a/value': 'one', '/harness/b': 'two' });
  });

  it('resets moto between tests', async () => {
    expect(await getParameters('/harness')).toEqual({});
  });

  it('paginates GetParametersByPath', async () => {
    const want: Record<string, string> = {};
    for (let i = 0; i < 23; i++) {
      want[`/many/p${i}`] = String(i);
      await putParameter(`/many/p${i}`, String(i));
    }
    expect(await getParameters('/many')).toEqual(want);
  });

  it('creates public and private zones', async () => {
    const pub = await createZone('example.com');
    const priv = await createZone('internal.example', { private: true });
    expect(pub).not.toMatch(/hostedzone/);
    expect(priv).not.toMatch(/hostedzone/);

    const p = await aws.route53.send(new GetHostedZoneCommand({ Id: priv }));
    expect(p.HostedZone?.Config?.PrivateZone).toBe(true);
    const { Vpcs = [] } = await aws.ec2.send(new DescribeVpcsCommand({}));
    expect(p.VPCs?.[0]?.VPCId).toBe(Vpcs.find((v) => v.IsDefault)?.VpcId);

    expect(await listRecords(pub)).toEqual([]);
    await putRecord(pub, { name: 'web.example.com', type: 'A', values: ['192.0.2.1'], ttl: 60 });
    await putRecord(pub, { name: '_ec2ip.web.example.com', type: 'TXT', values: ['"heritage=ec2ip"'], action: 'CREATE' });
    await putRecord(priv, { name: 'web.internal.example', type: 'A', values: ['10.0.0.5'], ttl: 60 });
    expect(await listRecords(pub)).toEqual(
      expect.arrayContaining([
        { name: 'web.example.com', type: 'A', ttl: 60, values: ['192.0.2.1'] },
        { name: '_ec2ip.web.example.com', type: 'TXT', ttl: 300, values: ['"heritage=ec2ip"'] },
      ]),
    );
    expect(await listRecords(pub)).toHaveLength(2);
    expect(await listRecords(priv)).toEqual([{ name: 'web.internal.example', type: 'A', ttl: 60, values: ['10.0.0.5'] }]);
  });

  it('paginates ListResourceRecordSets', async () => {
    const zone = await createZone('many.example');
    // moto pages ListResourceRecordSets at 300 (SOA and NS included).
    const Changes = Array.from({ length: 305 }, (_, i) => ({
      Action: 'CREATE' as const,
      ResourceRecordSet: { Name: `h${i}.many.example`, Type: 'A' as const, TTL: 60, ResourceRecords: [{ Value: `192.0.2.${i % 250}` }] },
    }));
    await aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Changes } }));
    const records = await listRecords(zone);
    expect(records).toHaveLength(305);
    expect(new Set(records.map((r) => r.name)).size).toBe(305);
  });

  it('runs, stops, starts and terminates an instance; the public IP changes', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const running = await describeInstance(id);
    expect(running.State?.Name).toBe('running');
    expect(running.PublicIpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(running.PrivateIpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(running.Tags).toEqual([{ Key: 'ec2ip:name', Value: 'web' }]);

    await stopInstances([id]);
    const stopped = await describeInstance(id);
    expect(stopped.State?.Name).toBe('stopped');
    expect(stopped.PublicIpAddress).toBeUndefined();
    expect(stopped.PrivateIpAddress).toBe(running.PrivateIpAddress);

    await startInstances([id]);
    const restarted = await describeInstance(id);
    expect(restarted.State?.Name).toBe('running');
    expect(restarted.PublicIpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(restarted.PublicIpAddress).not.toBe(running.PublicIpAddress);
    expect(restarted.PrivateIpAddress).toBe(running.PrivateIpAddress);

    await tagInstance(id, { 'ec2ip:name': 'api', other: 'x' });
    await untagInstance(id, ['other']);
    expect((await describeInstance(id)).Tags).toEqual([{ Key: 'ec2ip:name', Value: 'api' }]);

    await terminateInstances([id]);
    expect((await describeInstance(id)).State?.Name).toBe('terminated');
  });

  it('rejects a Route 53 CREATE exactly when the record set exists, as AWS does (scripts/moto-server.py)', async () => {
    const zone = await createZone('example.com');
    const change = (Action: 'CREATE' | 'DELETE', name: string, value: string) =>
      aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Changes: [{ Action, ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: value }] } }] } }));
    await change('CREATE', 'web.example.com', '1.1.1.1');
    await change('CREATE', 'zzz.example.com', '2.2.2.2');
    await expect(change('CREATE', 'web.example.com', '3.3.3.3')).rejects.toThrow(/already exists/);
    await change('DELETE', 'web.example.com', '1.1.1.1');
    await change('CREATE', 'web.example.com', '1.1.1.1');
    expect((await listRecords(zone)).filter((r) => r.name === 'web.example.com')).toEqual([{ name: 'web.example.com', type: 'A', ttl: 60, values: ['1.1.1.1'] }]);
  });
});
