/**
 * The sync loop shared by the event handler, the scheduled reconcile and the CLI: read the
 * instances and what is published, plan, apply, and re-plan a zone whose batch went stale.
 * Reads run in parallel in one round; a second round only when a first page did not hold
 * everything or a name's owner must be looked up; then the writes, in parallel.
 */
import { describeInstances, describeTagged } from '../adapters/ec2.js';
import type { Clients } from '../adapters/clients.js';
import { applyGroups, listRecords, readNames, zoneName, type Listing } from '../adapters/route53.js';
import { applyParameters, getParameters, listParameters, type ParameterListing, type PutPacer } from '../adapters/ssm.js';
import { associate, describeAddresses } from '../adapters/eip.js';
import { planAssociations, type Association } from '../core/eip.js';
import { configuredZones } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { checkName, nameOfOwnershipFqdn, parameterFolder, splitParameter } from '../core/names.js';
import { parseOwnership } from '../core/ownership.js';
import { PARAMETER_LEAVES } from '../core/desired.js';
import { plan as makePlan, type ChangeGroup, type ParameterChange, type Plan, type PlanInput, type ZoneView } from '../core/plan.js';
import type { Config, Instance, Zone, ZoneKind } from '../core/types.js';

/** What the loop needs; created once per process and passed in, so tests can swap any part. */
export interface Deps {
  clients: Clients;
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Zone id → name, learnt once per process. */
  zoneNames: Map<string, string>;
  /** Paces PutParameter (one per process); none: unpaced. */
  putPacer?: PutPacer;
}

/** Which instances a run is about: some ids (an event) or everything (the reconcile). */
export type Scope =
  /**
   * Some instances. `thorough` reads whole zones and the whole prefix, so names an instance
   * owns but no longer claims (a removed or renamed tag) are found and released at once.
   */
  | { kind: 'instances'; ids: readonly string[]; thorough?: boolean }
  | { kind: 'all' };

export interface SyncOptions {
  /** Plan only; write nothing (the CLI's `plan`). */
  dryRun?: boolean;
  /** When the writes must be done by (epoch ms): the invocation's time left, less a margin. */
  deadline?: number;
  /** Ids whose `running` event is recent: a missing public IP may still come, so public parts are left as they are. */
  recentRunning?: ReadonlySet<string>;
}

export interface SyncResult {
  /** The instances of the scope as DescribeInstances shows them; an id missing here was not found. */
  instances: Map<string, Instance>;
  /** The plan that was applied (or would be, in a dry run). */
  plan: Plan;
  /** Instances some of whose changes did not land, with the reason: retry them. */
  failed: Map<string, string>;
  /** Writes that landed. */
  written: number;
  /** Elastic IPs planned for attachment (attached unless a dry run) and why others were not. */
  elasticIps: ReturnType<typeof planAssociations>;
  /** Writes that landed, by kind, for the summary line. */
  stats: { recordsCreated: number; recordsDeleted: number; parametersWritten: number; parametersDeleted: number };
}

/** How many names an event may look up one by one before listing the whole zone is cheaper. */
const TARGETED_NAMES = 4;
/** Attempts at a zone whose change batch went stale: the plan, a re-plan, then name by name. */
const ZONE_ATTEMPTS = 3;

/** Runs one sync over `scope`. Throws only when nothing could be read; write failures come back in `failed`. */
export async function sync(deps: Deps, scope: Scope, options: SyncOptions = {}): Promise<SyncResult> {
  const { clients, config } = deps;
  const all = scope.kind === 'all';
  const pages = all || scope.thorough ? Number.POSITIVE_INFINITY : 1;
  const configured = configuredZones(config);

  const [described, listings, parameterListing, addresses] = await Promise.all([
    all ? describeTagged(clients.ec2) : scope.ids.length > 0 ? describeInstances(clients.ec2, scope.ids) : Promise.resolve([]),
    Promise.all(configured.map((z) => listRecords(clients.route53, z.id, undefined, pages))),
    listParameters(clients.ssm, config.prefix, undefined, pages),
    config.elasticIp ? describeAddresses(clients.ec2) : Promise.resolve([]),
  ]);
  const zones = await Promise.all(configured.map((z, i) => resolveZone(deps, z, listings[i])));
  const names = claimedNames(described, zones);
  const eip = planAssociations(config.elasticIp ? described : [], addresses);

  // Elastic IPs are attached in the same round as the remaining reads, so the writes that
  // publish them are still only the third round.
  const [views, parameters, targets] = await Promise.all([
    Promise.all(zones.map((zone, i) => completeZone(deps, zone, listings[i] as Listing, names))),
    completeParameters(deps, parameterListing, names, all || (scope.kind === 'instances' && scope.thorough === true)),
    attachElasticIps(deps, described, eip, options.dryRun ?? false),
  ]);
  const lookedUp = new Set(all ? targets.map((t) => t.id) : scope.ids);
  const others = await describeOwners(deps, lookedUp, views, parameters, all ? undefined : names);

  const waiting = new Set(targets.filter((t) => t.state === 'running' && !t.publicIp && options.recentRunning?.has(t.id)).map((t) => t.id));
  const vanished = all ? [] : scope.ids.filter((id) => !targets.some((t) => t.id === id));
  const input: PlanInput = { config, zones: views, parameters, targets, others, lookedUp, vanished, scope: all ? 'all' : 'targets', waitingForPublicIp: waiting };
  const plan = makePlan(input);
  const result: SyncResult = {
    instances: new Map(targets.map((t) => [t.id, t])),
    plan,
    failed: new Map(),
    written: 0,
    elasticIps: eip,
    stats: { recordsCreated: 0, recordsDeleted: 0, parametersWritten: 0, parametersDeleted: 0 },
  };
  reportRefusals(deps, plan);
  if (options.dryRun) return result;

  const zoneResults = views.map((view, i) => applyZone(deps, input, i, plan.zones[i]?.groups ?? [], all ? [] : names, result));
  await Promise.all([...zoneResults, applyParameterPlan(deps, plan.parameters, result, options.deadline)]);
  return result;
}

/**
 * Attaches the planned Elastic IPs and returns the instances with the addresses they now
 * have. A failure (the address was taken meanwhile, say) is logged once and counted; that
 * instance keeps its ordinary public IP.
 */
async function attachElasticIps(deps: Deps, instances: Instance[], eip: ReturnType<typeof planAssociations>, dryRun: boolean): Promise<Instance[]> {
  for (const p of eip.problems) {
    deps.log.warn('elastic ip not attached', { instanceId: p.instanceId, reason: p.reason });
    deps.metrics.add('ElasticIpProblems');
  }
  if (eip.associations.length === 0 || dryRun) return instances;
  const attached = new Map<string, Association>();
  await Promise.all(
    eip.associations.map(async (a) => {
      try {
        await associate(deps.clients.ec2, a);
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

/** The zone's name: remembered, else the apex of the first page (its SOA), else GetHostedZone. */
async function resolveZone(deps: Deps, z: { id: string; kind: ZoneKind }, listing: Listing | undefined): Promise<Zone> {
  let name = deps.zoneNames.get(z.id);
  if (!name) {
    const soa = listing?.records.find((r) => r.type === 'SOA');
    name = soa ? soa.name.replace(/\.$/, '') : await zoneName(deps.clients.route53, z.id);
    deps.zoneNames.set(z.id, name);
  }
  return { ...z, name };
}

/** The valid names the instances claim (invalid ones are refused by the planner). */
function claimedNames(instances: readonly Instance[], zones: readonly Zone[]): string[] {
  const names = new Set<string>();
  for (const i of instances) {
    if (i.nameTag === undefined) continue;
    const check = checkName(i.nameTag, zones.map((z) => z.name));
    if (check.ok) names.add(check.name);
  }
  return [...names];
}

/** A zone's records for the plan: the listing if complete, else the names read one by one or the rest of the zone. */
async function completeZone(deps: Deps, zone: Zone, listing: Listing, names: readonly string[]): Promise<ZoneView> {
  if (!listing.next) return { zone, records: listing.records };
  if (names.length <= TARGETED_NAMES) {
    return { zone, records: await readNames(deps.clients.route53, zone.id, zone.name, names) };
  }
  const rest = await listRecords(deps.clients.route53, zone.id, listing.next);
  return { zone, records: [...listing.records, ...rest.records] };
}

async function completeParameters(deps: Deps, listing: ParameterListing, names: readonly string[], thorough = true): Promise<Map<string, string>> {
  if (!listing.next) return listing.parameters;
  const { ssm } = deps.clients;
  // An event's run needs only its names' parameters: read them by name, 10 per call in one
  // round, whatever the size of the prefix (listing it costs one call per 10 parameters, in
  // sequence). Only a thorough run (a tag change) must list, to find names an instance left.
  if (!thorough || names.length * PARAMETER_LEAVES.length <= TARGETED_NAMES * 10) {
    const wanted = names.flatMap((n) => PARAMETER_LEAVES.map((leaf) => `${parameterFolder(deps.config.prefix, n)}/${leaf}`));
    return wanted.length > 0 ? getParameters(ssm, wanted) : new Map();
  }
  const rest = await listParameters(ssm, deps.config.prefix, listing.next);
  return new Map([...listing.parameters, ...rest.parameters]);
}

/**
 * Describes the owners of contested names that are not among the targets, so the planner
 * knows whether they still live and still claim their names. With `names` undefined
 * (the reconcile) every owner counts.
 */
async function describeOwners(deps: Deps, lookedUp: Set<string>, views: readonly ZoneView[], parameters: ReadonlyMap<string, string>, names: readonly string[] | undefined): Promise<Instance[]> {
  const wanted = names ? new Set(names) : undefined;
  const owners = new Set<string>();
  const consider = (name: string | undefined, owner: string | undefined) => {
    if (name && owner && !lookedUp.has(owner) && (!wanted || wanted.has(name))) owners.add(owner);
  };
  for (const view of views) {
    for (const r of view.records) {
      if (r.type !== 'TXT' || r.values.length !== 1) continue;
      const o = parseOwnership(r.values[0] ?? '');
      if (o && o.owner === deps.config.ownerId && o.region === deps.config.region) consider(nameOfOwnershipFqdn(r.name, view.zone.name), o.instance);
    }
  }
  for (const [parameter, value] of parameters) {
    const split = splitParameter(deps.config.prefix, parameter);
    if (split?.leaf === 'instance-id') consider(split.name, value);
  }
  if (owners.size === 0) return [];
  const found = await describeInstances(deps.clients.ec2, [...owners]);
  for (const id of owners) lookedUp.add(id);
  return found;
}

function reportRefusals(deps: Deps, plan: Plan): void {
  for (const r of plan.refusals) {
    deps.log.warn(r.kind === 'invalid-name' ? 'name refused' : r.kind === 'conflict' ? 'name conflict' : 'name owned by someone else', {
      instanceId: r.instanceId,
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
async function applyZone(deps: Deps, input: PlanInput, index: number, groups: ChangeGroup[], names: readonly string[], result: SyncResult): Promise<void> {
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
    const others = [...(input.others ?? []), ...(await describeOwners(deps, lookedUp, [zones[index] as ZoneView], new Map(), staleNames.size > 0 ? [...staleNames] : undefined))];
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

async function applyParameterPlan(deps: Deps, changes: readonly ParameterChange[], result: SyncResult, deadline: number | undefined): Promise<void> {
  if (changes.length === 0) return;
  const outcome = await applyParameters(deps.clients.ssm, changes, { ...(deadline ? { deadline } : {}), ...(deps.putPacer ? { pacer: deps.putPacer } : {}) });
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
      changes: applied.map((c) => (c.action === 'delete' ? `delete ${c.parameter}` : `${c.action} ${c.parameter}=${c.value}`)),
    });
  }
  for (const { change, error } of outcome.failed) {
    fail(deps, result, change.instanceIds, `SSM ${change.action} of ${change.parameter} failed: ${errorMessage(error)}`);
  }
}

function fail(deps: Deps, result: SyncResult, instanceIds: readonly string[], reason: string): void {
  deps.log.warn('change not applied; will retry', { instanceId: instanceIds[0], reason });
  for (const id of instanceIds) if (!result.failed.has(id)) result.failed.set(id, reason);
}

