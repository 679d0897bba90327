/**
 * The hostnames an instance really holds: `<name>.<zone>` only where this stack's ownership
 * record names that instance. A name refused in a zone (someone else's record) is not
 * shown, so `list` and `ssh-config` never point at a host ec2ip does not manage.
 */
import { listRecords } from '../../functions/adapters/route53.js';
import { nameOfOwnershipFqdn } from '../../functions/core/names.js';
import { parseOwnership } from '../../functions/core/ownership.js';
import type { Config, Zone, ZoneKind } from '../../functions/core/types.js';
import { explainAwsError, isAccessDenied } from './aws-errors.js';
import type { Context } from './context.js';

export type Hostnames = Partial<Record<ZoneKind, string>>;

/** Reads each configured zone once; returns a lookup of an instance's hostnames by zone kind. */
export async function readHostnames(ctx: Context, warn: (text: string) => void): Promise<(name: string, instanceId: string | undefined) => Hostnames> {
  const zones = await ctx.zones();
  const owners = await Promise.all(zones.map((zone) => ownersIn(ctx, zone, warn)));
  return (name, instanceId) => {
    const out: Hostnames = {};
    zones.forEach((zone, i) => {
      const owner = owners[i];
      if (owner === 'unknown' || (instanceId !== undefined && owner?.get(name) === instanceId)) out[zone.kind] ??= `${name}.${zone.name}`;
    });
    return out;
  };
}

/** Name → owning instance in `zone`, or `unknown` when the zone may not be listed (then every name is assumed held). */
async function ownersIn(ctx: Context, zone: Zone, warn: (text: string) => void): Promise<Map<string, string> | 'unknown'> {
  try {
    const { records } = await listRecords(ctx.clients.route53, zone.id);
    return ownersOf(records, zone, ctx.config);
  } catch (error) {
    if (!isAccessDenied(error)) throw explainAwsError(error, `listing the records of ${zone.name} (${zone.id})`);
    warn(`cannot list the records of ${zone.name} (access denied to route53:ListResourceRecordSets); hostnames there are not checked for ownership\n`);
    return 'unknown';
  }
}

function ownersOf(records: readonly { name: string; type: string; values: string[] }[], zone: Zone, config: Config): Map<string, string> {
  const owners = new Map<string, string>();
  for (const r of records) {
    if (r.type !== 'TXT' || r.values.length !== 1) continue;
    const name = nameOfOwnershipFqdn(r.name, zone.name);
    const o = parseOwnership(r.values[0] ?? '');
    if (name && o && o.owner === config.ownerId && o.region === config.region) owners.set(name, o.instance);
  }
  return owners;
}
