import { describe, expect, it } from 'vitest';
import { planAssociations, type Address } from '../../functions/core/eip.js';
import type { Instance } from '../../functions/core/types.js';

const inst = (id: string, eipTag: string | undefined, over: Partial<Instance> = {}): Instance => ({ id, state: 'running', nameTag: id, eipTag, ipv6: [], ...over });
const addr = (allocationId: string, over: Partial<Address> = {}): Address => ({ allocationId, publicIp: `52.0.0.${allocationId.length}`, pooled: true, ...over });

describe('planAssociations', () => {
  it('attaches the named allocation', () => {
    expect(planAssociations([inst('i-1', 'eipalloc-0a')], [addr('eipalloc-0a')])).toEqual({ associations: [{ instanceId: 'i-1', allocationId: 'eipalloc-0a', publicIp: '52.0.0.11' }], problems: [] });
  });

  it('makes no call for an instance that already holds an address', () => {
    expect(planAssociations([inst('i-1', 'auto')], [addr('eipalloc-0a', { associationId: 'eipassoc-1', instanceId: 'i-1' }), addr('eipalloc-0b')])).toEqual({ associations: [], problems: [] });
  });

  it('picks distinct free pool addresses for auto, in a stable order', () => {
    const pool = [addr('eipalloc-0c'), addr('eipalloc-0b', { associationId: 'x', instanceId: 'i-9' }), addr('eipalloc-0a'), addr('eipalloc-0d', { pooled: false })];
    const { associations } = planAssociations([inst('i-2', 'auto'), inst('i-1', 'auto')], pool);
    expect(associations.map((a) => [a.instanceId, a.allocationId])).toEqual([
      ['i-1', 'eipalloc-0a'],
      ['i-2', 'eipalloc-0c'],
    ]);
  });

  it.each([
    ['an address associated with another instance', 'eipalloc-0a', [addr('eipalloc-0a', { associationId: 'x', instanceId: 'i-9' })], /associated with i-9/],
    ['a missing allocation', 'eipalloc-0f', [], /does not exist/],
    ['an address that is not opted in', 'eipalloc-0a', [addr('eipalloc-0a', { pooled: false })], /not tagged ec2ip:pool/],
    ['an empty pool', 'auto', [addr('eipalloc-0a', { associationId: 'x' })], /no free Elastic IP/],
    ['a malformed tag', 'eip-123', [], /allocation id \(eipalloc-…\) or "auto"/],
  ])('refuses %s with a reason and no association', (_case, tag, addresses, reason) => {
    const plan = planAssociations([inst('i-1', tag)], addresses);
    expect(plan.associations).toEqual([]);
    expect(plan.problems).toEqual([{ instanceId: 'i-1', reason: expect.stringMatching(reason) }]);
  });

  it('gives one named address to one instance only', () => {
    const plan = planAssociations([inst('i-1', 'eipalloc-0a'), inst('i-2', 'eipalloc-0a')], [addr('eipalloc-0a')]);
    expect(plan.associations.map((a) => a.instanceId)).toEqual(['i-1']);
    expect(plan.problems.map((p) => p.instanceId)).toEqual(['i-2']);
  });

  it('attaches only to running instances, to the primary interface when there are several', () => {
    expect(planAssociations([inst('i-1', 'auto', { state: 'stopped' })], [addr('eipalloc-0a')]).associations).toEqual([]);
    const [a] = planAssociations([inst('i-1', 'auto', { networkInterfaceIds: ['eni-primary', 'eni-2'] })], [addr('eipalloc-0a')]).associations;
    expect(a?.networkInterfaceId).toBe('eni-primary');
  });
});
