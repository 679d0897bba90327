/**
 * Elastic IPs (ELASTIC_IP): attached in the same round as the sync loop's remaining reads,
 * before the plan, so the records and parameters publish the attached address. A write
 * outside the plan, like the host keys (host-keys.ts); the planning is functions/core/eip.ts.
 */
import { associate } from '../adapters/eip.js';
import type { Association } from '../core/eip.js';
import { errorMessage } from '../core/errors.js';
import type { Instance } from '../core/types.js';
import type { Deps, Side } from './types.js';

/**
 * Attaches the planned Elastic IPs and returns the instances with the addresses they now
 * have. A failure (the address was taken meanwhile, say) is logged once and counted; that
 * instance keeps its ordinary public IP.
 */
export async function attachElasticIps(deps: Deps, side: Side, dryRun: boolean): Promise<Instance[]> {
  const { eip, described: instances } = side;
  for (const p of eip.problems) {
    deps.log.warn('elastic ip not attached', { instanceId: p.instanceId, reason: p.reason });
    deps.metrics.add('ElasticIpProblems');
  }
  if (eip.associations.length === 0 || dryRun) return instances;
  const attached = new Map<string, Association>();
  await Promise.all(
    eip.associations.map(async (a) => {
      try {
        await associate(side.ec2, a);
        attached.set(a.instanceId, a);
        deps.log.info('elastic ip attached', { instanceId: a.instanceId, allocationId: a.allocationId, publicIp: a.publicIp });
        deps.metrics.add('ElasticIpAttached');
      } catch (error) {
        deps.log.warn('elastic ip not attached', { instanceId: a.instanceId, allocationId: a.allocationId, reason: `AssociateAddress of ${a.allocationId} to ${a.instanceId} failed: ${errorMessage(error)}; publishing its ordinary public IP instead` });
        deps.metrics.add('ElasticIpProblems');
      }
    }),
  );
  return instances.map((i) => {
    const a = attached.get(i.id);
    return a ? { ...i, publicIp: a.publicIp } : i;
  });
}
