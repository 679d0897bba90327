/** The built Lambda against moto: an instance's whole life in both zones and in SSM. */
import { describe, expect, it } from 'vitest';
import { ownershipValue } from '../support/convergence.js';
import { stateChangeEvent } from '../support/events.js';
import {
  describe as describeInstance,
  getParameters,
  listRecords,
  runInstance,
  startInstances,
  stopInstances,
  terminateInstances,
  useMoto,
  useTwoZones,
} from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

const OWNERSHIP = (id: string) => ownershipValue(id);

describe('an instance from start to terminate', () => {
  useMoto();
  useIamAudit('function');
  const world = useTwoZones();

  const send = (id: string, state: string) => captureStdout(() => world.handler(stateChangeEvent(id, state)));

  it('publishes, withdraws and republishes the public address and cleans up on terminate', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const first = await describeInstance(id);
    await send(id, 'running');

    expect(await listRecords(world.publicZone)).toEqual(
      expect.arrayContaining([
        { name: 'web.example.com', type: 'A', ttl: 60, values: [first.PublicIpAddress] },
        { name: '_ec2ip.web.example.com', type: 'TXT', ttl: 60, values: [OWNERSHIP(id)] },
      ]),
    );
    expect(await listRecords(world.privateZone)).toEqual([
      { name: 'web.internal.example', type: 'A', ttl: 60, values: [first.PrivateIpAddress] },
      { name: '_ec2ip.web.internal.example', type: 'TXT', ttl: 60, values: [OWNERSHIP(id)] },
    ]);
    expect(await getParameters('/ec2ip')).toEqual({
      '/ec2ip/web/instance-id': id,
      '/ec2ip/web/public-ip': first.PublicIpAddress,
      '/ec2ip/web/private-ip': first.PrivateIpAddress,
    });

    await stopInstances([id]);
    await send(id, 'stopped');
    expect(await listRecords(world.publicZone)).toEqual([{ name: '_ec2ip.web.example.com', type: 'TXT', ttl: 60, values: [OWNERSHIP(id)] }]);
    expect((await listRecords(world.privateZone)).map((r) => r.type).sort()).toEqual(['A', 'TXT']);
    expect(await getParameters('/ec2ip')).toEqual({ '/ec2ip/web/instance-id': id, '/ec2ip/web/private-ip': first.PrivateIpAddress });

    await startInstances([id]);
    const second = await describeInstance(id);
    expect(second.PublicIpAddress).not.toBe(first.PublicIpAddress);
    await send(id, 'running');
    expect((await listRecords(world.publicZone)).find((r) => r.type === 'A')?.values).toEqual([second.PublicIpAddress]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(second.PublicIpAddress);

    await terminateInstances([id]);
    await send(id, 'terminated');
    expect(await listRecords(world.publicZone)).toEqual([]);
    expect(await listRecords(world.privateZone)).toEqual([]);
    expect(await getParameters('/ec2ip')).toEqual({});
  });
});
