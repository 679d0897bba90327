/**
 * The sync loop's ownership bookkeeping (mutation-tested as a whole: `npm run mutate:sync`):
 * which instances count as looked up and which vanished, which names the instances claim, and
 * which owners of contested names are described before the planner decides whose they are.
 */
import { describeInstances } from '../adapters/ec2.js';
import { errorMessage } from '../core/errors.js';
import { checkName, checkTemplateName, nameOfOwnershipFqdn, splitParameter, type SpokeNames } from '../core/names.js';
import { instanceKey, ownershipKey, parseInstanceKey, parseOwnership } from '../core/ownership.js';
import type { ZoneView } from '../core/plan.js';
import type { Instance, Spoke, Zone } from '../core/types.js';
import { newSide, placed, sideKey } from './read.js';
import type { RunState, Side } from './types.js';

/**
 * Which instances (keys) the run has looked up, and which of the ids asked about
 * DescribeInstances did not return (`vanished`). A side asked about ids looked them all up,
 * found or not; a side reading everything tagged, the instances it found. describeOwners
 * later adds the owners it describes to the same set.
 */
export function lookedUpAndVanished(live: readonly Side[]): { lookedUp: Set<string>; vanished: string[] } {
  const lookedUp = new Set<string>();
  const vanished: string[] = [];
  for (const side of live) {
    if (side.ids === undefined) for (const t of side.targets) lookedUp.add(instanceKey(t));
    else {
      for (const id of side.ids) {
        const key = instanceKey({ id, ...side.spoke });
        lookedUp.add(key);
        if (!side.targets.some((t) => t.id === id)) vanished.push(key);
      }
    }
  }
  return { lookedUp, vanished };
}

/** The valid names the instances claim (invalid ones are refused by the planner); record names under a hub's template. */
export function claimedNames(instances: readonly Instance[], zones: readonly Zone[], template?: string, spokeNames?: SpokeNames): string[] {
  const names = new Set<string>();
  const zoneNames = zones.map((z) => z.name);
  for (const i of instances) {
    if (i.nameTag === undefined) continue;
    let check = checkName(i.nameTag, zoneNames);
    if (check.ok && template) check = checkTemplateName(template, check.name, i, zoneNames, spokeNames);
    if (check.ok) names.add(check.name);
  }
  return [...names];
}

/**
 * Describes the owners of contested names that are not among the targets, so the planner
 * knows whether they still live and still claim their names. With `names` undefined
 * (the reconcile) every owner counts. A hub describes each owner in its own spoke; an owner
 * in a spoke it cannot read stays unknown, so it keeps its name.
 */
export async function describeOwners(state: RunState, lookedUp: Set<string>, views: readonly ZoneView[], paramSides: readonly Side[], names: readonly string[] | undefined): Promise<Instance[]> {
  const { deps } = state;
  const wanted = names ? new Set(names) : undefined;
  const owners = new Set<string>();
  const consider = (name: string | undefined, owner: string | undefined, allNames = false) => {
    if (name && owner && !lookedUp.has(owner) && (!wanted || allNames || wanted.has(name))) owners.add(owner);
  };
  for (const view of views) {
    for (const r of view.records) {
      if (r.type !== 'TXT' || r.values.length !== 1) continue;
      const o = parseOwnership(r.values[0] ?? '');
      if (!o || o.owner !== deps.config.ownerId) continue;
      if (deps.hub ? o.account !== undefined : o.region === deps.config.region && o.account === undefined) consider(nameOfOwnershipFqdn(r.name, view.zone.name), ownershipKey(o));
    }
  }
  for (const side of paramSides) {
    const sideNames = new Set(side.names);
    for (const [parameter, value] of side.parameters) {
      const split = splitParameter(deps.config.prefix, parameter);
      // Parameter names carry no template: a spoke's own claimed names decide.
      if (split?.leaf === 'instance-id' && (!wanted || sideNames.has(split.name))) consider(split.name, instanceKey({ id: value, ...side.spoke }), true);
    }
  }
  if (owners.size === 0) return [];
  const bySide = new Map<string, { spoke: Spoke | undefined; keys: string[] }>();
  for (const key of owners) {
    const { account, region } = parseInstanceKey(key);
    const spoke = deps.hub && account !== undefined && region !== undefined ? { account, region } : undefined;
    if (deps.hub && !spoke) continue;
    const group = bySide.get(sideKey(spoke)) ?? { spoke, keys: [] };
    group.keys.push(key);
    bySide.set(sideKey(spoke), group);
  }
  const found = await Promise.all(
    [...bySide].map(async ([k, { spoke, keys }]) => {
      let side = state.sides.get(k);
      if (side?.error) return [];
      if (!side) state.sides.set(k, (side = newSide(deps, spoke, [])));
      try {
        const instances = placed(await describeInstances(side.ec2, keys.map((key) => parseInstanceKey(key).id)), spoke);
        for (const key of keys) lookedUp.add(key);
        return instances;
      } catch (error) {
        if (!spoke) throw error;
        deps.log.warn('owner not looked up; it keeps its names', { account: spoke.account, region: spoke.region, reason: errorMessage(error) });
        return [];
      }
    }),
  );
  return found.flat();
}
