/**
 * What a hub has published, read from its zones: each name it owns with the account, region
 * and instance its ownership record names, and the addresses of its A records. The hub reads
 * no spoke's parameters (the spoke roles trust the hub's function only), so `list` in the hub
 * account shows the zones' view of every account.
 */
import { listRecords } from '../../functions/adapters/route53.js';
import { nameOfOwnershipFqdn, recordFqdn } from '../../functions/core/names.js';
import { parseOwnership } from '../../functions/core/ownership.js';
import type { Zone } from '../../functions/core/types.js';
import { explainAwsError } from './aws-errors.js';
import type { Context } from './context.js';

/** One name a hub owns. */
export interface HubEntry {
  name: string;
  account: string;
  region: string;
  instanceId: string;
  publicIp: string | null;
  privateIp: string | null;
  hostname: string | null;
  privateHostname: string | null;
}

/** Every name the hub (owner id `ctx.config.ownerId`) owns in the configured zones, sorted by name then account. */
export async function readHubRecords(ctx: Context): Promise<HubEntry[]> {
  const zones = await ctx.zones();
  const byKey = new Map<string, HubEntry>();
  for (const zone of zones) {
    let records;
    try {
      records = (await listRecords(ctx.clients.route53, zone.id)).records;
    } catch (error) {
      throw explainAwsError(error, `listing the ${zone.kind} hosted zone ${zone.id}`);
    }
    for (const r of records) {
      if (r.type !== 'TXT' || r.values.length !== 1) continue;
      const o = parseOwnership(r.values[0] ?? '');
      const name = nameOfOwnershipFqdn(r.name, zone.name);
      if (!o || !name || o.owner !== ctx.config.ownerId || o.account === undefined) continue;
      const key = `${name} ${o.account} ${o.region} ${o.instance}`;
      const entry = byKey.get(key) ?? { name, account: o.account, region: o.region, instanceId: o.instance, publicIp: null, privateIp: null, hostname: null, privateHostname: null };
      const a = records.find((x) => x.type === 'A' && x.name === recordFqdn(name, zone.name));
      setZone(entry, zone, name, a?.values[0] ?? null);
      byKey.set(key, entry);
    }
  }
  return [...byKey.values()].sort((x, y) => (x.name === y.name ? x.account.localeCompare(y.account) : x.name < y.name ? -1 : 1));
}

function setZone(entry: HubEntry, zone: Zone, name: string, address: string | null): void {
  if (zone.kind === 'public') {
    entry.publicIp = address;
    entry.hostname = `${name}.${zone.name}`;
  } else {
    entry.privateIp = address;
    entry.privateHostname = `${name}.${zone.name}`;
    entry.hostname ??= entry.privateHostname;
  }
}
