import { AssociateAddressCommand, DescribeAddressesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { POOL_TAG, type Address, type Association } from '../core/eip.js';

/** Every VPC Elastic IP of the region (one call: DescribeAddresses does not page). */
export async function describeAddresses(ec2: EC2Client): Promise<Address[]> {
  const out = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] }));
  return (out.Addresses ?? []).flatMap((a) => {
    if (!a.AllocationId || !a.PublicIp) return [];
    const address: Address = { allocationId: a.AllocationId, publicIp: a.PublicIp, pooled: (a.Tags ?? []).some((t) => t.Key === POOL_TAG) };
    if (a.AssociationId) address.associationId = a.AssociationId;
    if (a.InstanceId) address.instanceId = a.InstanceId;
    return [address];
  });
}

/** Associates one address; AllowReassociation=false, so an address that got taken meanwhile fails instead of moving. */
export async function associate(ec2: EC2Client, a: Association): Promise<void> {
  await ec2.send(
    new AssociateAddressCommand({
      AllocationId: a.allocationId,
      AllowReassociation: false,
      ...(a.networkInterfaceId ? { NetworkInterfaceId: a.networkInterfaceId } : { InstanceId: a.instanceId }),
    }),
  );
}
