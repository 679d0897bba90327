/**
 * The sync loop's last phase: apply a plan. Each zone's change groups go to Route 53 (a batch
 * that went stale is re-read, re-planned and at last applied name by name); each side's
 * parameter changes go to SSM at its pacer's rate. What lands is counted, logged and reported;
 * what fails is recorded against its instances for the handler to retry.
 */
import { applyGroups, listRecords, readNames } from '../adapters/route53.js';
import { applyParameters } from '../adapters/ssm.js';
import { errorMessage } from '../core/errors.js';
import { plan as makePlan, type ChangeGroup, type ParameterChange, type Plan, type PlanInput, type ZoneView } from '../core/plan.js';
import type { Zone } from '../core/types.js';
import { TARGETED_NAMES } from './read.js';
import { describeOwners } from './owners.js';
import type { Deps, RunState, Side, SyncResult } from './types.js';

/** Attempts at a zone whose change batch went stale: the plan, a re-plan, then name by name. */
const ZONE_ATTEMPTS = 3;

export function reportRefusals(deps: Deps, plan: Plan): void {
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
export async function applyZone(state: RunState, input: PlanInput, index: number, groups: ChangeGroup[], names: readonly string[], result: SyncResult): Promise<void> {
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
export async function applyParameterPlan(deps: Deps, side: Side, changes: readonly ParameterChange[], result: SyncResult, deadline: number | undefined): Promise<ParameterChange[]> {
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

