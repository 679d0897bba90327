import type { Config, Instance, InstanceState, ZoneKind } from './types.js';

/** What a record or parameter should be: these values, nothing, or whatever it is now. */
export type Want = { values: string[] } | 'absent' | 'keep';

/** The records and parameter leaves one instance should have under its name. */
export interface Desired {
  /** Route 53 record sets by type (A, AAAA) for one zone kind. */
  records: Record<ZoneKind, { A: Want; AAAA: Want }>;
  /** Parameter leaves under `<prefix>/<name>/`. */
  parameters: Record<ParameterLeaf, Want>;
}

/** The leaves ec2ip writes under `<prefix>/<name>/`. */
export const PARAMETER_LEAVES = ['instance-id', 'private-ip', 'public-ip', 'ipv6'] as const;
export type ParameterLeaf = (typeof PARAMETER_LEAVES)[number];

/** Instances whose addresses may still be published: everything but the end of life. */
export function isAlive(state: InstanceState): boolean {
  return state !== 'shutting-down' && state !== 'terminated';
}

/**
 * The desired records and parameters of an instance that holds its name, from its
 * state now. `waitingForPublicIp` leaves the public parts as they are while a running
 * instance has no public IPv4 yet (it may get one a moment after `running`).
 */
export function desired(instance: Instance, config: Config, waitingForPublicIp = false): Desired {
  const stopped = instance.state === 'stopping' || instance.state === 'stopped';
  const missingPublic: Want = stopped ? (config.onStop === 'keep' ? 'keep' : 'absent') : waitingForPublicIp ? 'keep' : 'absent';
  const publicV4: Want = !stopped && instance.publicIp ? { values: [instance.publicIp] } : missingPublic;
  const publicV6: Want = !stopped && instance.ipv6.length > 0 ? { values: [...instance.ipv6].sort() } : missingPublic;
  const privateV4: Want = instance.privateIp ? { values: [instance.privateIp] } : 'keep';
  return {
    records: {
      public: { A: publicV4, AAAA: publicV6 },
      private: { A: privateV4, AAAA: 'absent' },
    },
    parameters: {
      'instance-id': { values: [instance.id] },
      'private-ip': privateV4,
      'public-ip': publicV4,
      ipv6: publicV6 === 'absent' || publicV6 === 'keep' ? publicV6 : { values: [publicV6.values.join(',')] },
    },
  };
}
