/** The built Lambda against moto: an instance's whole life in both zones and in SSM. */
import { beforeEach, describe, expect, it } from 'vitest';
import { stateChangeEvent } from '../support/events.js';
import {
  createZone,
  describe as describeInstance,
  getParameters,
  listRecords,
  loadHandler,
  runInstance,
  startInstances,
  stopInstances,
  terminateInstances,
  useMoto,
  type Handler,
} from '../support/moto.js';
import { captureStdout } from '../support/output.js';

const OWNERSHIP = (id: string) => `"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=${id}"`;

describe('an instance from start to terminate', () => {
  useMoto();
  let publicZone: string;
  let privateZone: string;
  let handler: Handler;

  beforeEach(async () => {
    publicZone = await createZone('example.com');
    privateZone = await createZone('internal.example', { private: true });
    handler = await loadHandler({ HOSTED_ZONE_ID: publicZone, PRIVATE_HOSTED_ZONE_ID: privateZone, PARAMETER_PREFIX: undefined, OWNER_ID: undefined, ON_STOP: undefined, RECORD_TTL: undefined });
  });

  const send = (id: string, state: string) => captureStdout(() => handler(stateChangeEvent(id, state)));

  it('publishes, withdraws and republishes the public address and cleans up on terminate', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const first = await describeInstance(id);
    await send(id, 'running');

    expect(await listRecords(publicZone)).toEqual(
      expect.arrayContaining([
        { name: 'web.example.com', type: 'A', ttl: 60, values: [first.PublicIpAddress] },
        { name: '_ec2ip.web.example.com', type: 'TXT', ttl: 60, values: [OWNERSHIP(id)] },
      ]),
    );
    expect(await listRecords(privateZone)).toEqual([
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
    expect(await listRecords(publicZone)).toEqual([{ name: '_ec2ip.web.example.com', type: 'TXT', ttl: 60, values: [OWNERSHIP(id)] }]);
    expect((await listRecords(privateZone)).map((r) => r.type).sort()).toEqual(['A', 'TXT']);
    expect(await getParameters('/ec2ip')).toEqual({ '/ec2ip/web/instance-id': id, '/ec2ip/web/private-ip': first.PrivateIpAddress });

    await startInstances([id]);
    const second = await describeInstance(id);
    expect(second.PublicIpAddress).not.toBe(first.PublicIpAddress);
    await send(id, 'running');
    expect((await listRecords(publicZone)).find((r) => r.type === 'A')?.values).toEqual([second.PublicIpAddress]);
    expect((await getParameters('/ec2ip'))['/ec2ip/web/public-ip']).toBe(second.PublicIpAddress);

    await terminateInstances([id]);
    await send(id, 'terminated');
    expect(await listRecords(publicZone)).toEqual([]);
    expect(await listRecords(privateZone)).toEqual([]);
    expect(await getParameters('/ec2ip')).toEqual({});
  });
});
