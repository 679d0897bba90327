/**
 * Elastic IP mode, decided purely: which tagged instances get which address. Never takes an
 * address associated elsewhere, never allocates or releases one, and makes no call for an
 * instance that already has its address.
 */
import type { Instance } from './types.js';

/** The tag on an Elastic IP that opts it in: ec2ip attaches no address without it. */
export const POOL_TAG = 'ec2ip:pool';

/** An Elastic IP as DescribeAddresses shows it. */
export interface Address {
  allocationId: string;
  publicIp: string;
  /** Set while the address is associated with anything (an instance or a network interface). */
  associationId?: string;
  instanceId?: string;
  pooled: boolean;
}

export interface Association {
  instanceId: string;
  allocationId: string;
  publicIp: string;
  /** The primary network interface, when the instance has several. */
  networkInterfaceId?: string;
}

export interface EipProblem {
  instanceId: string;
  reason: string;
}

const ALLOCATION = /^eipalloc-[0-9a-f]{1,40}$/;

/**
 * For each running instance tagged `ec2ip:eip`, the association to make, or why none can be
 * made (then its ordinary public IP is published).
 */
export function planAssociations(instances: readonly Instance[], addresses: readonly Address[]): { associations: Association[]; problems: EipProblem[] } {
  const associations: Association[] = [];
  const problems: EipProblem[] = [];
  const taken = new Set(addresses.filter((a) => a.associationId).map((a) => a.allocationId));
  const holders = new Set(addresses.map((a) => a.instanceId).filter(Boolean));
  const pool = addresses.filter((a) => a.pooled && !a.associationId).sort((a, b) => a.allocationId.localeCompare(b.allocationId));

  for (const instance of [...instances].sort((a, b) => a.id.localeCompare(b.id))) {
    const tag = instance.eipTag?.trim();
    if (!tag || instance.state !== 'running' || holders.has(instance.id)) continue;
    const eni = instance.networkInterfaceIds && instance.networkInterfaceIds.length > 1 ? { networkInterfaceId: instance.networkInterfaceIds[0] as string } : {};
    if (tag === 'auto') {
      const free = pool.find((a) => !taken.has(a.allocationId));
      if (!free) {
        problems.push({ instanceId: instance.id, reason: `no free Elastic IP tagged ${POOL_TAG} for ${instance.id} (ec2ip:eip=auto): tag an unassociated address ${POOL_TAG}; publishing its ordinary public IP instead` });
        continue;
      }
      taken.add(free.allocationId);
      associations.push({ instanceId: instance.id, allocationId: free.allocationId, publicIp: free.publicIp, ...eni });
      continue;
    }
    if (!ALLOCATION.test(tag)) {
      problems.push({ instanceId: instance.id, reason: `the ec2ip:eip tag of ${instance.id} is "${tag.slice(0, 60)}": use an allocation id (eipalloc-…) or "auto"` });
      continue;
    }
    const address = addresses.find((a) => a.allocationId === tag);
    if (!address) {
      problems.push({ instanceId: instance.id, reason: `Elastic IP ${tag} (ec2ip:eip of ${instance.id}) does not exist in this region; publishing its ordinary public IP instead` });
    } else if (!address.pooled) {
      problems.push({ instanceId: instance.id, reason: `Elastic IP ${tag} is not tagged ${POOL_TAG}, so ec2ip may not attach it to ${instance.id}: tag the address to opt it in` });
    } else if (address.associationId || taken.has(tag)) {
      problems.push({ instanceId: instance.id, reason: `Elastic IP ${tag} is associated with ${address.instanceId ?? 'another resource'}; ec2ip never takes an address from elsewhere` });
    } else {
      taken.add(tag);
      associations.push({ instanceId: instance.id, allocationId: tag, publicIp: address.publicIp, ...eni });
    }
  }
  return { associations, problems };
}
