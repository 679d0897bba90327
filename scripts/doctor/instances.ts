/**
 * The instance checks: the same dry run as `ec2ip plan` (the Lambda's own loop, writing
 * nothing); an instance whose records and parameters need no change is published as EC2
 * says it is now, one with changes is stale, one with a refusal says why.
 */
import { sync, type Deps } from '../../functions/sync/engine.js';
import { instanceKey } from '../../functions/core/ownership.js';
import { summarise } from '../cli/plan-format.js';
import type { Sink } from './probe.js';

export async function checkInstances(deps: Deps, sink: Sink): Promise<void> {
  const result = await sync(deps, { kind: 'all' }, { dryRun: true });
  const { plan } = result;
  const pending = new Map<string, string[]>();
  const add = (key: string, what: string) => pending.set(key, [...(pending.get(key) ?? []), what]);
  for (const { zone, groups } of plan.zones) {
    for (const g of groups) for (const c of g.changes) for (const key of g.instanceIds) add(key, `${c.action} ${c.record.type} ${c.record.name.replace(/\.$/, '')} in ${zone.name}`);
  }
  for (const p of plan.parameters) for (const key of p.instanceIds) add(key, `${p.action} ${p.parameter}`);

  const tagged = [...result.instances.values()].filter((i) => i.nameTag !== undefined).sort((a, b) => (a.nameTag ?? '').localeCompare(b.nameTag ?? '') || a.id.localeCompare(b.id));
  for (const i of tagged) {
    const key = instanceKey(i);
    const resource = `${i.id} (ec2ip:name=${i.nameTag})`;
    const refusals = plan.refusals.filter((r) => r.instanceId === i.id && (r.account === undefined || r.account === i.account));
    if (refusals.length > 0) {
      sink({
        section: 'instances',
        id: 'instance-refused',
        status: 'fail',
        resource,
        message: `refused, nothing is published for it: ${refusals.map((r) => `${r.where ? `${r.where}: ` : ''}${r.reason}`).join('; ')}`,
        fix: 'fix the ec2ip:name tag (`aws ec2 create-tags --resources ' + i.id + ' --tags Key=ec2ip:name,Value=NEW`) or remove the record that blocks it; `ec2ip plan` shows the detail',
      });
      continue;
    }
    const changes = pending.get(key) ?? [];
    if (changes.length > 0) {
      sink({
        section: 'instances',
        id: 'instance-stale',
        status: 'fail',
        resource,
        message: `${i.state}; what is published differs from what EC2 says now: ${changes.slice(0, 3).join(', ')}${changes.length > 3 ? `, and ${changes.length - 3} more` : ''}`,
        fix: 'run `ec2ip reconcile` (the scheduled reconcile also repairs it); if it comes back, check the events-in lines above',
      });
      continue;
    }
    const addresses = [i.publicIp && `public ${i.publicIp}`, i.privateIp && `private ${i.privateIp}`].filter(Boolean).join(', ');
    sink({ section: 'instances', id: 'instance-published', status: 'ok', resource, message: `${i.state}, published as EC2 says${addresses ? `: ${addresses}` : ''}` });
  }
  const summary = summarise(plan);
  const clean = summary.startsWith('no changes');
  sink({
    section: 'instances',
    id: 'plan',
    status: clean ? 'ok' : 'warn',
    resource: 'ec2ip plan',
    message: `${summary} for ${tagged.length} tagged instance${tagged.length === 1 ? '' : 's'}`,
    ...(clean ? {} : { fix: 'see `ec2ip plan`; `ec2ip reconcile` applies it' }),
  });
}
