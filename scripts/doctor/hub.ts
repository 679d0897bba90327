/**
 * The hub checks: the spokes as the hub sees them (its Spokes parameter, or its StackSet's
 * stack instances), and each spoke reachable or not with the reason, as the hub's function
 * last found it (its `reconcile done` and `spoke unreachable` log lines: the spoke roles trust
 * the hub's function role only, so the CLI cannot assume them itself).
 */
import { ListStackInstancesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeEventBusCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { probe, type Sink } from './probe.js';
import type { StackInfo } from './stack.js';

const DAY_MS = 24 * 3600_000;

/** `account:region` entries of the hub's Spokes parameter. */
export function parseSpokes(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().replace('/', ':'))
    .filter(Boolean);
}

type BusStatement = { Effect?: string; Principal?: unknown; Action?: string | string[]; Condition?: Record<string, Record<string, unknown>> };

/** Whether the bus policy lets `account` put events on the bus: by account, or by organization (`aws:PrincipalOrgID`). */
export function busAdmits(policy: string | undefined, account: string): 'account' | 'organization' | undefined {
  let statements: BusStatement[] = [];
  try {
    statements = [(JSON.parse(policy ?? '{}') as { Statement?: BusStatement | BusStatement[] }).Statement ?? []].flat();
  } catch {
    return undefined;
  }
  for (const st of statements) {
    if (st.Effect !== 'Allow' || ![st.Action ?? []].flat().some((a) => a === 'events:PutEvents' || a === 'events:*')) continue;
    const principal = st.Principal as { AWS?: string | string[] } | string | undefined;
    const principals = typeof principal === 'string' ? [principal] : [principal?.AWS ?? []].flat();
    if (principals.some((p) => p === account || p === `arn:aws:iam::${account}:root` || new RegExp(`^arn:aws[a-z-]*:iam::${account}:root$`).test(p))) return 'account';
    const org = Object.values(st.Condition ?? {}).some((keys) => Object.keys(keys).some((k) => k.toLowerCase() === 'aws:principalorgid'));
    if (principals.includes('*') && org) return 'organization';
  }
  return undefined;
}

export async function checkHub(cfn: CloudFormationClient, logs: CloudWatchLogsClient, events: EventBridgeClient, stack: StackInfo, sink: Sink, now: Date): Promise<void> {
  const fn = stack.resources.SyncFunction ?? stack.outputs.FunctionName ?? stack.name;
  let spokes = parseSpokes(stack.parameters.Spokes);
  const stackSet = stack.parameters.SpokeStackSet;
  if (spokes.length === 0 && stackSet) {
    let listed = false;
    await probe(sink, { section: 'hub', id: 'spokes', resource: stackSet, action: 'cloudformation:ListStackInstances' }, async () => {
      const found = new Set<string>();
      let token: string | undefined;
      do {
        const out = await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSet, ...(token ? { NextToken: token } : {}), ...(stack.parameters.SpokeStackSetCallAs === 'DELEGATED_ADMIN' ? { CallAs: 'DELEGATED_ADMIN' } : {}) }));
        for (const s of out.Summaries ?? []) if (s.Account && s.Region) found.add(`${s.Account}:${s.Region}`);
        token = out.NextToken;
      } while (token);
      spokes = [...found].sort();
      listed = true;
    });
    if (!listed) return;
  }
  const source = stack.parameters.Spokes ? 'the Spokes parameter' : `StackSet ${stackSet ?? '?'}`;
  sink({
    section: 'hub',
    id: 'spokes',
    status: spokes.length > 0 ? 'ok' : 'fail',
    resource: stack.name,
    message: spokes.length > 0 ? `${spokes.length} spoke${spokes.length === 1 ? '' : 's'} from ${source}: ${spokes.join(', ')}` : `no spokes (from ${source}): no instance is published`,
    ...(spokes.length > 0 ? {} : { fix: 'run `ec2ip deploy --spokes --accounts … --regions …`, or `ec2ip deploy --hub --spoke-list ACCOUNT:REGION,…`' }),
  });
  if (spokes.length === 0) return;

  const bus = stack.resources.SpokeBus;
  if (bus) {
    await probe(sink, { section: 'hub', id: 'spoke-forwarding', resource: bus, action: 'events:DescribeEventBus' }, async () => {
      const { Policy } = await events.send(new DescribeEventBusCommand({ Name: bus }));
      for (const spoke of spokes) {
        const account = spoke.split(':')[0] ?? '';
        const how = busAdmits(Policy, account);
        sink({
          section: 'hub',
          id: 'spoke-forwarding',
          status: how ? 'ok' : 'fail',
          resource: spoke,
          message: how
            ? `the hub's bus ${bus} admits its forwarded events (${how === 'account' ? 'by account' : 'by organization'}); its own rules live in ${account} and are not read from here`
            : `the hub's bus ${bus} does not admit events from ${account}: its spoke rules' deliveries are refused`,
          ...(how ? {} : { fix: `run \`ec2ip deploy --hub --member-accounts ${account},…\` (or --organization-id) so the bus policy admits it` }),
        });
      }
    });
  }

  await probe(sink, { section: 'hub', id: 'spoke-reachable', resource: stack.name, action: 'logs:FilterLogEvents' }, async () => {
    const group = `/aws/lambda/${fn}`;
    const read = async (pattern: string) => {
      const out = [];
      let nextToken: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: pattern, startTime: now.getTime() - DAY_MS, ...(nextToken ? { nextToken } : {}) }));
        out.push(...(res.events ?? []));
        nextToken = res.nextToken;
        if (!nextToken) break;
      }
      return out.flatMap((e) => {
        try {
          return [{ at: e.timestamp ?? 0, line: JSON.parse(e.message ?? '') as Record<string, unknown> }];
        } catch {
          return [];
        }
      });
    };
    const reconciles = (await read('"reconcile done"')).filter((e) => e.line.message === 'reconcile done').sort((a, b) => b.at - a.at);
    const last = reconciles[0];
    if (!last) {
      for (const spoke of spokes) sink({ section: 'hub', id: 'spoke-reachable', status: 'warn', resource: spoke, message: 'not known: no reconcile of the hub logged in the last 24 h', fix: '`ec2ip reconcile` as the hub\'s function role, or wait for the schedule; the last-reconcile line above says more' });
      return;
    }
    const unreachable = new Set((Array.isArray(last.line.unreachable) ? last.line.unreachable : []).map((k) => String(k).replace('/', ':')));
    const reasons = new Map<string, string>();
    for (const e of (await read('"spoke unreachable"')).sort((a, b) => a.at - b.at)) reasons.set(`${String(e.line.account)}:${String(e.line.region)}`, String(e.line.reason ?? ''));
    for (const spoke of spokes) {
      const down = unreachable.has(spoke);
      sink({
        section: 'hub',
        id: 'spoke-reachable',
        status: down ? 'fail' : 'ok',
        resource: spoke,
        message: down ? `unreachable at the last reconcile: ${reasons.get(spoke) || 'see the function\'s log'}` : 'reachable at the last reconcile',
        ...(down ? { fix: `check the spoke stack in ${spoke}: its role ${stack.parameters.SpokeRoleName || 'ec2ip-spoke'}-${spoke.split(':')[1] ?? ''} must exist and trust the hub's function role with the external id; \`ec2ip deploy --spokes\` repairs it` } : {}),
      });
    }
  });
}
