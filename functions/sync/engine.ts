/**
 * The sync loop shared by the event handler, the scheduled reconcile and the CLI: read the
 * instances and what is published, plan, apply, and re-plan a zone whose batch went stale.
 * Reads run in parallel in one round; a second round only when a first page did not hold
 * everything or a name's owner must be looked up; then the writes, in parallel.
 */
import { describeInstances, describeTagged } from '../adapters/ec2.js';
import { applyGroups, listRecords, readNames, type Listing } from '../adapters/route53.js';
import { applyParameters, listParameters } from '../adapters/ssm.js';
import { startHostKeys } from './host-keys.js';
import { describeAddresses } from '../adapters/eip.js';
import { planAssociations } from '../core/eip.js';
import { configuredZones } from '../core/config.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { usesAccountAlias } from '../core/names.js';
import { instanceKey } from '../core/ownership.js';
import { plan as makePlan, type ChangeGroup, type ParameterChange, type Plan, type PlanInput, type ZoneView } from '../core/plan.js';
import type { Instance, Spoke, Zone } from '../core/types.js';
import { completeParameters, completeZone, openSides, placed, resolveZone, sideFailed, sideKey, TARGETED_NAMES } from './read.js';
import { claimedNames, describeOwners, lookedUpAndVanished } from './owners.js';
import { attachElasticIps } from './elastic-ips.js';
import type { Deps, RunState, Side, SyncOptions, Scope, SyncResult } from './types.js';

export type { Deps, HubDeps, Scope, SyncOptions, SyncResult } from './types.js';

/** Attempts at a zone whose change batch went stale: the plan, a re-plan, then name by name. */
const ZONE_ATTEMPTS = 3;

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
  let input: PlanInput;
  let plan: Plan;
  const parameterPlans: { side: Side; changes: ParameterChange[] }[] = [];
  if (!deps.hub) {
    const side = sides[0] as Side;
    input = { ...base, parameters: side.parameters };
    plan = makePlan(input);
    parameterPlans.push({ side, changes: plan.parameters });
  } else {
    input = { ...base, part: 'zones' };
    const zonePlan = makePlan(input);
    const refusals = [...zonePlan.refusals];
    for (const side of live) {
      const spoke = side.spoke as Spoke;
      const inSpoke = (i: Instance) => i.account === spoke.account && i.region === spoke.region;
      const sidePlan = makePlan({ ...base, parameters: side.parameters, targets: side.targets, others: others.filter(inSpoke), part: 'parameters', spoke });
      parameterPlans.push({ side, changes: sidePlan.parameters.map((c) => ({ ...c, account: spoke.account, region: spoke.region })) });
      // An invalid name is refused once, by the zones' plan.
      refusals.push(...sidePlan.refusals.filter((r) => r.kind !== 'invalid-name' || !refusals.some((z) => z.kind === 'invalid-name' && z.instanceId === r.instanceId && z.account === r.account)));
    }
    plan = { zones: zonePlan.zones, parameters: parameterPlans.flatMap((p) => p.changes), refusals };
  }
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

function reportRefusals(deps: Deps, plan: Plan): void {
  for (const r of plan.refusals) {
    deps.log.warn(r.kind === 'invalid-name' ? 'name refused' : r.kind === 'conflict' ? 'name conflict' : 'name owned by someone else', {
      instanceId: r.instanceId,
      ...(r.account !== undefined ? { account: r.account, region: r.region } : {}),
      name: r.name,
      zone: r.where,
      reason: r.reason,
    });
    deps.metrics.add(r.kind === 'conflict' ? 'Conflicts' : 'Refused');
  }
}

/**
 * Applies one zone's groups; when Route 53 rejects a batch because a change went stale,
 * reads the zone again, re-plans it, and in the last attempt applies name by name so one
 * bad change cannot block the others.
 */
async function applyZone(state: RunState, input: PlanInput, index: number, groups: ChangeGroup[], names: readonly string[], result: SyncResult): Promise<void> {
  const { deps } = state;
  const view = input.zones[index] as ZoneView;
  const { route53 } = deps.clients;
  let pending = groups;
  for (let attempt = 1; attempt <= ZONE_ATTEMPTS && pending.length > 0; attempt++) {
    const outcome =
      attempt < ZONE_ATTEMPTS
        ? await applyGroups(route53, view.zone.id, pending)
        : await mergeOutcomes(pending.map((g) => applyGroups(route53, view.zone.id, [g])));
    for (const g of outcome.applied) recordApplied(deps, view.zone, g, result);
    for (const { group, error } of outcome.failed) fail(deps, result, group.instanceIds, `Route 53 change to ${group.name}.${view.zone.name} in zone ${view.zone.id} failed: ${errorMessage(error)}`);
    if (outcome.stale.length === 0) return;
    const staleNames = new Set(outcome.stale.map((g) => g.name));
    deps.log.info('change batch went stale; re-planning from fresh records', { zone: view.zone.name, zoneId: view.zone.id, names: [...staleNames], attempt, reason: outcome.rejection });
    if (attempt === ZONE_ATTEMPTS) {
      for (const g of outcome.stale) fail(deps, result, g.instanceIds, `Route 53 rejected the changes to ${g.name}.${view.zone.name} in zone ${view.zone.id} ${ZONE_ATTEMPTS} times (${outcome.rejection ?? 'no reason given'})`);
      return;
    }
    const fresh = names.length > 0 && names.length <= TARGETED_NAMES
      ? await readNames(route53, view.zone.id, view.zone.name, names)
      : (await listRecords(route53, view.zone.id)).records;
    const zones = input.zones.map((z, i) => (i === index ? { zone: view.zone, records: fresh } : z));
    // The fresh records may name an owner this run has not seen: look it up before deciding.
    const lookedUp = new Set(input.lookedUp);
    const others = [...(input.others ?? []), ...(await describeOwners(state, lookedUp, [zones[index] as ZoneView], [], staleNames.size > 0 ? [...staleNames] : undefined))];
    input = { ...input, zones, others, lookedUp };
    const replan = makePlan(input);
    reportRefusals(deps, { ...replan, refusals: replan.refusals.filter((r) => r.where === view.zone.name && staleNames.has(r.name ?? '')) });
    const replanned = replan.zones[index]?.groups ?? [];
    pending = replanned.filter((g) => staleNames.has(g.name));
  }
}

async function mergeOutcomes(outcomes: Promise<Awaited<ReturnType<typeof applyGroups>>>[]) {
  const all = await Promise.all(outcomes);
  const rejection = all.find((o) => o.rejection)?.rejection;
  return { applied: all.flatMap((o) => o.applied), stale: all.flatMap((o) => o.stale), failed: all.flatMap((o) => o.failed), ...(rejection ? { rejection } : {}) };
}

function recordApplied(deps: Deps, zone: Zone, group: ChangeGroup, result: SyncResult): void {
  result.written += group.changes.length;
  result.stats.recordsCreated += group.changes.filter((c) => c.action === 'CREATE').length;
  result.stats.recordsDeleted += group.changes.filter((c) => c.action === 'DELETE').length;
  const created = new Set(group.changes.filter((c) => c.action === 'CREATE').map((c) => `${c.record.name} ${c.record.type}`));
  deps.metrics.add('Published', created.size);
  deps.metrics.add('Deleted', group.changes.filter((c) => c.action === 'DELETE' && !created.has(`${c.record.name} ${c.record.type}`)).length);
  deps.log.info(group.reason === 'release' ? 'records released' : 'records published', {
    instanceId: group.instanceIds[0],
    name: group.name,
    zone: zone.name,
    zoneId: zone.id,
    reason: group.reason,
    changes: group.changes.map((c) => `${c.action} ${c.record.type} ${c.record.name} ${c.record.values.join(' ')}`.trim()),
  });
}

/** Applies a side's parameter changes; returns those that landed. */
async function applyParameterPlan(deps: Deps, side: Side, changes: readonly ParameterChange[], result: SyncResult, deadline: number | undefined): Promise<ParameterChange[]> {
  if (changes.length === 0) return [];
  const outcome = await applyParameters(side.ssm, changes, { ...(deadline ? { deadline } : {}), ...(side.pacer ? { pacer: side.pacer } : {}) });
  result.written += outcome.applied.length;
  result.stats.parametersWritten += outcome.applied.filter((c) => c.action !== 'delete').length;
  result.stats.parametersDeleted += outcome.applied.filter((c) => c.action === 'delete').length;
  deps.metrics.add('Published', outcome.applied.filter((c) => c.action !== 'delete').length);
  deps.metrics.add('Deleted', outcome.applied.filter((c) => c.action === 'delete').length);
  const byName = new Map<string, ParameterChange[]>();
  for (const c of outcome.applied) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  for (const [name, applied] of byName) {
    deps.log.info('parameters written', {
      instanceId: applied[0]?.instanceIds[0],
      name,
      ...(side.spoke ? { account: side.spoke.account, region: side.spoke.region } : {}),
      changes: applied.map((c) => (c.action === 'delete' ? `delete ${c.parameter}` : `${c.action} ${c.parameter}=${c.value}`)),
    });
  }
  for (const { change, error } of outcome.failed) {
    fail(deps, result, change.instanceIds, `SSM ${change.action} of ${change.parameter}${side.spoke ? ` in account ${side.spoke.account} (${side.spoke.region})` : ''} failed: ${errorMessage(error)}`);
  }
  return outcome.applied;
}

function fail(deps: Deps, result: SyncResult, instanceIds: readonly string[], reason: string): void {
  deps.log.warn('change not applied; will retry', { instanceId: instanceIds[0], reason });
  for (const id of instanceIds) if (!result.failed.has(id)) result.failed.set(id, reason);
}

