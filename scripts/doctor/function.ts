/**
 * The function checks: Lambda's errors and throttles and ec2ip's own metrics over the last
 * 24 hours (CloudWatch GetMetricData), and the last scheduled reconcile from its log line
 * (`reconcile done`, CloudWatch Logs FilterLogEvents).
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { probe, type Sink } from './probe.js';
import type { StackInfo } from './stack.js';

const DAY_MS = 24 * 3600_000;

/** ec2ip's own metrics (functions/core/metrics.ts) that mean something needs a look when not zero. */
const PROBLEM_METRICS = ['Refused', 'Conflicts', 'Malformed', 'ElasticIpProblems', 'SpokesUnreachable'] as const;

/** How often the schedule runs, in ms: `rate(N unit)`; a cron expression counts as daily. */
export function scheduleIntervalMs(expression: string | undefined): number {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression?.trim() ?? 'rate(15 minutes)');
  if (!m) return DAY_MS;
  const unit = m[2]?.startsWith('minute') ? 60_000 : m[2]?.startsWith('hour') ? 3600_000 : DAY_MS;
  return Number(m[1]) * unit;
}

export async function checkFunction(cloudwatch: CloudWatchClient, logs: CloudWatchLogsClient, stack: StackInfo, ownerId: string, sink: Sink, now: Date): Promise<void> {
  const fn = stack.resources.SyncFunction ?? stack.outputs.FunctionName ?? stack.name;
  await probe(sink, { section: 'function', id: 'function-metrics', resource: fn, action: 'cloudwatch:GetMetricData' }, async () => {
    const lambda = (name: string): MetricDataQuery => ({ Id: name.toLowerCase(), MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: name, Dimensions: [{ Name: 'FunctionName', Value: fn }] }, Period: 86400, Stat: 'Sum' } });
    const own = (name: string): MetricDataQuery => ({ Id: name.toLowerCase(), MetricStat: { Metric: { Namespace: 'ec2ip', MetricName: name, Dimensions: [{ Name: 'Service', Value: ownerId }] }, Period: 86400, Stat: 'Sum' } });
    const out = await cloudwatch.send(
      new GetMetricDataCommand({ StartTime: new Date(now.getTime() - DAY_MS), EndTime: now, MetricDataQueries: [lambda('Errors'), lambda('Throttles'), ...PROBLEM_METRICS.map(own)] }),
    );
    const sum = (id: string) => (out.MetricDataResults?.find((r) => r.Id === id)?.Values ?? []).reduce((a, b) => a + b, 0);
    const errors = sum('errors');
    const throttles = sum('throttles');
    sink({
      section: 'function',
      id: 'function-errors',
      status: errors + throttles > 0 ? 'warn' : 'ok',
      resource: fn,
      message: `${errors} errors, ${throttles} throttles in the last 24 h`,
      ...(errors + throttles > 0 ? { fix: `read why: \`aws logs tail /aws/lambda/${fn} --since 24h --filter-pattern ERROR\`` } : {}),
    });
    const problems = PROBLEM_METRICS.map((m) => [m, sum(m.toLowerCase())] as const).filter(([, n]) => n > 0);
    sink({
      section: 'function',
      id: 'function-outcomes',
      status: problems.length > 0 ? 'warn' : 'ok',
      resource: fn,
      message: problems.length > 0 ? `in the last 24 h: ${problems.map(([m, n]) => `${m} ${n}`).join(', ')}` : `no refused names, conflicts, malformed events or unreachable spokes in the last 24 h`,
      ...(problems.length > 0 ? { fix: 'the instance lines below say which names are refused; the function\'s log says why for the rest' } : {}),
    });
  });

  await probe(sink, { section: 'function', id: 'last-reconcile', resource: fn, action: 'logs:FilterLogEvents' }, async () => {
    const interval = scheduleIntervalMs(stack.parameters.ReconcileSchedule);
    const since = now.getTime() - Math.max(DAY_MS, 3 * interval);
    const events = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 20; page++) {
      const out = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${fn}`, filterPattern: '"reconcile done"', startTime: since, ...(nextToken ? { nextToken } : {}) }));
      events.push(...(out.events ?? []));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    const last = events.filter((e) => (e.message ?? '').includes('reconcile done')).sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0))[0];
    const schedule = stack.parameters.ReconcileSchedule ?? 'rate(15 minutes)';
    if (!last) {
      sink({
        section: 'function',
        id: 'last-reconcile',
        status: 'warn',
        resource: fn,
        message: `no scheduled reconcile logged since ${new Date(since).toISOString()} (schedule ${schedule})`,
        fix: `check the ReconcileRule is ENABLED (\`aws events describe-rule --name ${stack.resources.ReconcileRule ?? '<rule>'}\`) and the reconcile-failure queue; \`ec2ip reconcile\` runs one now`,
      });
      return;
    }
    const ageMs = now.getTime() - (last.timestamp ?? 0);
    let what = '';
    try {
      const line = JSON.parse(last.message ?? '') as Record<string, unknown>;
      what = `: ${line.instances ?? '?'} instances, ${line.refused ?? 0} refused, ${line.failed ?? 0} failed`;
    } catch {
      // a plain-text line: the time is enough
    }
    // Overdue: two intervals and a few minutes of slack without one.
    const overdue = ageMs > 2 * interval + 5 * 60_000;
    sink({
      section: 'function',
      id: 'last-reconcile',
      status: overdue ? 'warn' : 'ok',
      resource: fn,
      message: `last scheduled reconcile ${Math.round(ageMs / 60_000)} min ago${what}${overdue ? ` (overdue: schedule ${schedule})` : ''}`,
      ...(overdue ? { fix: `check the ReconcileRule is ENABLED and the reconcile-failure queue; \`ec2ip reconcile\` runs one now` } : {}),
    });
  });
}
