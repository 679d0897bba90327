/**
 * The sync loop shared by the event handler, the scheduled reconcile and the CLI: read the
 * instances and what is published, plan, apply (apply.ts; it re-plans a zone whose batch went
 * stale). Reads run in parallel in one round; a second round only when a first page did not
 * hold everything or a name's owner must be looked up; then the writes, in parallel.
 */
import { describeInstances, describeTagged } from '../adapters/ec2.js';
import { listRecords, type Listing } from '../adapters/route53.js';
import { listParameters } from '../adapters/ssm.js';
import { startHostKeys } from './host-keys.js';
import { describeAddresses } from '../adapters/eip.js';
import { planAssociations } from '../core/eip.js';
import { configuredZones } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { usesAccountAlias } from '../core/names.js';
import { instanceKey } from '../core/ownership.js';
import { plan as makePlan, type ParameterChange, type Plan, type PlanInput } from '../core/plan.js';
import type { Instance, Spoke } from '../core/types.js';
import { completeParameters, completeZone, openSides, placed, resolveZone, sideFailed, sideKey } from './read.js';
import { claimedNames, describeOwners, lookedUpAndVanished } from './owners.js';
import { attachElasticIps } from './elastic-ips.js';
import { applyParameterPlan, applyZone, reportRefusals } from './apply.js';
import type { Deps, RunState, Side, SyncOptions, Scope, SyncResult } from './types.js';

export type { Deps, HubDeps, Scope, SyncOptions, SyncResult } from './types.js';

/** Runs one sync over `scope`. Throws only when nothing could be read; write failures come back in `failed`. */
export async function sync(deps: Deps, scope: Scope, options: SyncOptions = {}): Promise<SyncResult> {
  const { clients, config } = deps;
  if (config.hub && !deps.hub) throw new ConfigError('the configuration is a hub\'s (SPOKE_ROLE_NAME is set) but no way into the spokes was given');
  const all = scope.kind === 'all';
  const thorough = all || (scope.kind === 'instances' && scope.thorough === true);
  const pages = thorough ? Number.POSITIVE_INFINITY : 1;
  const configured = configuredZones(config);
  const state: RunState = { deps, sides: await openSides(deps, scope) };
  const sides = [...state.sides.values()];

  const [, listings] = await Promise.all([
    Promise.all(
      sides.map(async (side) => {
        try {
          const [described, listing, addresses, alias] = await Promise.all([
            side.ids === undefined ? describeTagged(side.ec2) : side.ids.length > 0 ? describeInstances(side.ec2, side.ids) : Promise.resolve([]),
            listParameters(side.ssm, config.prefix, undefined, pages),
            config.elasticIp ? describeAddresses(side.ec2) : Promise.resolve([]),
            side.spoke && deps.hub?.accountAlias && usesAccountAlias(config.hub?.nameTemplate) ? deps.hub.accountAlias(side.spoke) : Promise.resolve(undefined),
          ]);
          Object.assign(side, { described: placed(described, side.spoke, alias), listing, addresses });
        } catch (error) {
          sideFailed(deps, side, error);
        }
      }),
    ),
    Promise.all(configured.map((z) => listRecords(clients.route53, z.id, undefined, pages))),
  ]);
  const zones = await Promise.all(configured.map((z, i) => resolveZone(deps, z, listings[i])));
  const template = config.hub?.nameTemplate;
  const recordNames = claimedNames(sides.flatMap((s) => (s.error ? [] : s.described)), zones, template, config.hub?.spokeNames);
  for (const side of sides) {
    side.names = claimedNames(side.described, zones);
    side.eip = planAssociations(config.elasticIp && !side.error ? side.described : [], side.addresses);
  }

  // Elastic IPs are attached in the same round as the remaining reads, so the writes that
  // publish them are still only the third round.
  const [views] = await Promise.all([
    Promise.all(zones.map((zone, i) => completeZone(deps, zone, listings[i] as Listing, recordNames))),
    Promise.all(
      sides.map(async (side) => {
        if (side.error) return;
        try {
          const [parameters, targets] = await Promise.all([completeParameters(deps, side.ssm, side.listing, side.names, thorough), attachElasticIps(deps, side, options.dryRun ?? false)]);
          Object.assign(side, { parameters, targets });
        } catch (error) {
          sideFailed(deps, side, error);
        }
      }),
    ),
  ]);
  const live = sides.filter((s) => !s.error);
  const targets = live.flatMap((s) => s.targets);
  const { lookedUp, vanished } = lookedUpAndVanished(live);
  const others = await describeOwners(state, lookedUp, views, live, all ? undefined : recordNames);

  const waiting = new Set(targets.filter((t) => t.state === 'running' && !t.publicIp && options.recentRunning?.has(instanceKey(t))).map(instanceKey));
  const base: PlanInput = { config, zones: views, parameters: new Map(), targets, others, lookedUp, vanished, scope: all ? 'all' : 'targets', waitingForPublicIp: waiting };
  const { input, plan, parameterPlans } = planSides(deps, base, sides, live, others);
  const result: SyncResult = {
    instances: new Map(targets.map((t) => [instanceKey(t), t])),
    plan,
    failed: new Map(),
    written: 0,
    elasticIps: { associations: sides.flatMap((s) => s.eip.associations), problems: sides.flatMap((s) => s.eip.problems) },
    stats: { recordsCreated: 0, recordsDeleted: 0, parametersWritten: 0, parametersDeleted: 0 },
    unreachable: new Map(sides.filter((s) => s.error).map((s) => [sideKey(s.spoke), s.error as string])),
  };
  reportRefusals(deps, plan);
  if (options.dryRun) return result;

  // Host keys are looked for by the reconcile and tag-change runs only: a state event stays one
  // round of reads (and a running event comes before cloud-init prints the keys anyway). Console
  // reads start now, beside the writes; the records after them.
  const hostKeys = deps.hostKeys && thorough ? startHostKeys(deps, parameterPlans, options.deadline) : undefined;
  const zoneResults = views.map((view, i) => applyZone(state, input, i, plan.zones[i]?.groups ?? [], all ? [] : recordNames, result));
  const [, applied] = await Promise.all([Promise.all(zoneResults), Promise.all(parameterPlans.map((p) => applyParameterPlan(deps, p.side, p.changes, result, options.deadline)))]);
  await hostKeys?.(applied);
  return result;
}

/**
 * The plan. A single account: one plan over its zones and parameters. A hub: one over the
 * zones, with every spoke's instances, and one per reachable spoke over its own parameters.
 */
function planSides(deps: Deps, base: PlanInput, sides: readonly Side[], live: readonly Side[], others: readonly Instance[]): { input: PlanInput; plan: Plan; parameterPlans: { side: Side; changes: ParameterChange[] }[] } {
  if (!deps.hub) {
    const side = sides[0] as Side;
    const input = { ...base, parameters: side.parameters };
    const plan = makePlan(input);
    return { input, plan, parameterPlans: [{ side, changes: plan.parameters }] };
  }
  const input: PlanInput = { ...base, part: 'zones' };
  const zonePlan = makePlan(input);
  const refusals = [...zonePlan.refusals];
  const parameterPlans: { side: Side; changes: ParameterChange[] }[] = [];
  for (const side of live) {
    const spoke = side.spoke as Spoke;
    const inSpoke = (i: Instance) => i.account === spoke.account && i.region === spoke.region;
    const sidePlan = makePlan({ ...base, parameters: side.parameters, targets: side.targets, others: others.filter(inSpoke), part: 'parameters', spoke });
    parameterPlans.push({ side, changes: sidePlan.parameters.map((c) => ({ ...c, account: spoke.account, region: spoke.region })) });
    // An invalid name is refused once, by the zones' plan.
    refusals.push(...sidePlan.refusals.filter((r) => r.kind !== 'invalid-name' || !refusals.some((z) => z.kind === 'invalid-name' && z.instanceId === r.instanceId && z.account === r.account)));
  }
  return { input, plan: { zones: zonePlan.zones, parameters: parameterPlans.flatMap((p) => p.changes), refusals }, parameterPlans };
}
