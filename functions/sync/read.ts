/**
 * The sync loop's reads: the sides of a run (the function's own account, or a hub's spokes)
 * and what is published in the zones and under the prefix. A first page is read in the first
 * round; completeZone and completeParameters read the rest, or only the names the run needs.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { listRecords, readNames, zoneName, type Listing } from '../adapters/route53.js';
import { getParameters, listParameters, type ParameterListing } from '../adapters/ssm.js';
import type { planAssociations } from '../core/eip.js';
import { errorMessage } from '../core/errors.js';
import { parameterFolder } from '../core/names.js';
import { parseInstanceKey, spokeKey } from '../core/ownership.js';
import { PARAMETER_LEAVES } from '../core/desired.js';
import { HOST_KEYS_LEAF } from '../core/host-keys.js';
import type { ZoneView } from '../core/plan.js';
import type { Instance, Spoke, Zone, ZoneKind } from '../core/types.js';
import type { Deps, Scope, Side } from './types.js';

/** How many names an event may look up one by one before listing the whole zone is cheaper. */
export const TARGETED_NAMES = 4;

const NO_EIP: ReturnType<typeof planAssociations> = { associations: [], problems: [] };

export function sideKey(spoke: Spoke | undefined): string {
  return spoke ? spokeKey(spoke) : '';
}

export function newSide(deps: Deps, spoke: Spoke | undefined, ids: string[] | undefined): Side {
  const clients = spoke && deps.hub ? deps.hub.clientsFor(spoke) : deps.clients;
  const pacer = spoke && deps.hub?.pacerFor ? deps.hub.pacerFor(spoke) : deps.putPacer;
  return { spoke, ec2: clients.ec2, ssm: clients.ssm, pacer, ids, described: [], listing: { parameters: new Map() }, addresses: [], names: [], eip: NO_EIP, parameters: new Map(), targets: [] };
}

/** In a hub, instances carry the account and region they live in (and the account's alias, when the template names it). */
export function placed(instances: Instance[], spoke: Spoke | undefined, accountAlias?: string): Instance[] {
  return spoke ? instances.map((i) => ({ ...i, account: spoke.account, region: spoke.region, ...(accountAlias ? { accountAlias } : {}) })) : instances;
}

/** The sides of a run: the function's own, or the spokes the scope names (all of them for the reconcile). */
export async function openSides(deps: Deps, scope: Scope): Promise<Map<string, Side>> {
  const sides = new Map<string, Side>();
  if (!deps.hub) {
    sides.set('', newSide(deps, undefined, scope.kind === 'all' ? undefined : [...scope.ids]));
    return sides;
  }
  if (scope.kind === 'all') {
    for (const spoke of await deps.hub.spokes()) sides.set(spokeKey(spoke), newSide(deps, spoke, undefined));
    return sides;
  }
  for (const key of scope.ids) {
    const { id, account, region } = parseInstanceKey(key);
    if (account === undefined || region === undefined) continue;
    const spoke = { account, region };
    let side = sides.get(spokeKey(spoke));
    if (!side) sides.set(spokeKey(spoke), (side = newSide(deps, spoke, [])));
    side.ids?.push(id);
  }
  return sides;
}

/**
 * A hub's spoke that cannot be read is reported once and left out of the run: its items
 * come back, and nothing it owns is changed (its owners are never looked up, so they keep
 * their names). In single-account mode the error ends the run, as before.
 */
export function sideFailed(deps: Deps, side: Side, error: unknown): void {
  if (!side.spoke) throw error;
  const message = errorMessage(error);
  side.error = message.includes(side.spoke.account) ? message : `account ${side.spoke.account} in ${side.spoke.region}: ${message}`;
  deps.log.error('spoke unreachable; skipped, its records are kept and its items retried', { account: side.spoke.account, region: side.spoke.region, reason: side.error });
  deps.metrics.add('SpokesUnreachable');
}

/** The zone's name: remembered, else the apex of the first page (its SOA), else GetHostedZone. */
export async function resolveZone(deps: Deps, z: { id: string; kind: ZoneKind }, listing: Listing | undefined): Promise<Zone> {
  let name = deps.zoneNames.get(z.id);
  if (!name) {
    const soa = listing?.records.find((r) => r.type === 'SOA');
    name = soa ? soa.name.replace(/\.$/, '') : await zoneName(deps.clients.route53, z.id);
    deps.zoneNames.set(z.id, name);
  }
  return { ...z, name };
}

/** A zone's records for the plan: the listing if complete, else the names read one by one or the rest of the zone. */
export async function completeZone(deps: Deps, zone: Zone, listing: Listing, names: readonly string[]): Promise<ZoneView> {
  if (!listing.next) return { zone, records: listing.records };
  if (names.length <= TARGETED_NAMES) {
    return { zone, records: await readNames(deps.clients.route53, zone.id, zone.name, names) };
  }
  const rest = await listRecords(deps.clients.route53, zone.id, listing.next);
  return { zone, records: [...listing.records, ...rest.records] };
}

export async function completeParameters(deps: Deps, ssm: SSMClient, listing: ParameterListing, names: readonly string[], thorough = true): Promise<Map<string, string>> {
  if (!listing.next) return listing.parameters;
  // An event's run needs only its names' parameters: read them by name, 10 per call in one
  // round, whatever the size of the prefix (listing it costs one call per 10 parameters, in
  // sequence). Only a thorough run (a tag change) must list, to find names an instance left.
  const leaves = [...PARAMETER_LEAVES, HOST_KEYS_LEAF];
  if (!thorough || names.length * leaves.length <= TARGETED_NAMES * 10) {
    const wanted = names.flatMap((n) => leaves.map((leaf) => `${parameterFolder(deps.config.prefix, n)}/${leaf}`));
    return wanted.length > 0 ? getParameters(ssm, wanted) : new Map();
  }
  const rest = await listParameters(ssm, deps.config.prefix, listing.next);
  return new Map([...listing.parameters, ...rest.parameters]);
}
