/** A sync plan as people read it (`+ CREATE A web.example.com 1.2.3.4`) and as scripts read it (JSON). */
import type { Association, EipProblem } from '../../functions/core/eip.js';
import { changeCount, type Plan } from '../../functions/core/plan.js';
import type { Context } from './context.js';

const trimDot = (name: string) => name.replace(/\.$/, '');

/** Elastic IPs the run attaches (or would), and why others were not. */
export interface ElasticIps {
  associations: Association[];
  problems: EipProblem[];
}

/** The plan's changes, one per line under its zone or the parameter prefix, then the refusals. */
export function formatPlan(plan: Plan, prefix: string, eip: ElasticIps = { associations: [], problems: [] }): string {
  const out: string[] = [];
  if (eip.associations.length > 0) {
    // Records below show the addresses as they are now; the attached address replaces the public one.
    out.push('Elastic IPs:');
    for (const a of eip.associations) out.push(`  + ATTACH ${a.allocationId} (${a.publicIp}) to ${a.instanceId}`);
  }
  for (const { zone, groups } of plan.zones) {
    if (groups.length === 0) continue;
    out.push(`${zone.name} (${zone.kind} zone ${zone.id}):`);
    for (const group of groups) {
      for (const c of group.changes) {
        out.push(`  ${c.action === 'CREATE' ? '+' : '-'} ${c.action} ${c.record.type} ${trimDot(c.record.name)} ${c.record.values.join(' ')}`.trimEnd());
      }
    }
  }
  if (plan.parameters.length > 0) {
    out.push(`SSM parameters under ${prefix}:`);
    for (const c of plan.parameters) {
      // A hub writes each spoke's parameters in that spoke's account and region.
      const where = c.account !== undefined ? ` (account ${c.account}, ${c.region})` : '';
      out.push(c.action === 'delete' ? `  - delete ${c.parameter}${where}` : `  ${c.action === 'create' ? '+' : '~'} ${c.action} ${c.parameter} = ${c.value ?? ''}${where}`);
    }
  }
  if (plan.refusals.length > 0 || eip.problems.length > 0) {
    out.push('Refused (nothing is written for these):');
    for (const r of plan.refusals) {
      const id = r.account !== undefined ? `${r.instanceId}, account ${r.account}, ${r.region}` : r.instanceId;
      out.push(`  ! ${r.name ? `${r.name} (${id})` : id}${r.where ? ` in ${r.where}` : ''}: ${r.reason}`);
    }
    for (const p of eip.problems) out.push(`  ! ${p.instanceId}: ${p.reason}`);
  }
  return out.map((l) => `${l}\n`).join('');
}

/** "3 changes (2 in Route 53, 1 in SSM), 1 refusal" or "no changes". */
export function summarise(plan: Plan): string {
  const total = changeCount(plan);
  const records = total - plan.parameters.length;
  const refused = plan.refusals.length > 0 ? `, ${plural(plan.refusals.length, 'refusal')}` : '';
  return total === 0 ? `no changes${refused}` : `${plural(total, 'change')} (${records} in Route 53, ${plan.parameters.length} in SSM)${refused}`;
}

/** The plan for `--json`: the settings it was made with, then every change. */
export function planJson(plan: Plan, ctx: Context, eip: ElasticIps = { associations: [], problems: [] }) {
  const { config, stack } = ctx;
  return {
    settings: {
      owner: config.ownerId,
      region: config.region,
      prefix: config.prefix,
      ttl: config.ttl,
      onStop: config.onStop,
      stack: { name: stack.name, status: stack.status },
      zones: plan.zones.map(({ zone }) => zone),
    },
    changes: changeCount(plan),
    zones: plan.zones.map(({ zone, groups }) => ({
      ...zone,
      groups: groups.map((g) => ({
        name: g.name,
        reason: g.reason,
        instanceIds: g.instanceIds,
        changes: g.changes.map((c) => ({ action: c.action, type: c.record.type, name: trimDot(c.record.name), ttl: c.record.ttl ?? null, values: c.record.values })),
      })),
    })),
    parameters: plan.parameters.map((c) => ({ action: c.action, parameter: c.parameter, value: c.value ?? null, name: c.name, instanceIds: c.instanceIds, ...(c.account !== undefined ? { account: c.account, region: c.region } : {}) })),
    refusals: plan.refusals,
    elasticIps: eip,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
