/**
 * The "events in" checks: both rules exist, are ENABLED and target the queue; the queue
 * policy admits them; the event source mapping is enabled; the queue's backlog; the
 * dead-letter queue is empty.
 */
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRuleCommand, ListTargetsByRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ListEventSourceMappingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { probe, type Sink } from './probe.js';
import type { StackInfo } from './stack.js';

export interface EventClients {
  events: EventBridgeClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
  logs: CloudWatchLogsClient;
}

/** The queue's oldest message may wait this long (the batching window is seconds) before it is a warning. */
export const MAX_QUEUE_AGE_SECONDS = 300;

const RULES = [
  { logicalId: 'StateChangeRule', label: 'state-change rule' },
  { logicalId: 'TagChangeRule', label: 'tag-change rule' },
] as const;

/** Runs the checks; `now` is for the age of the oldest message. */
export async function checkEvents(c: EventClients, stack: StackInfo, sink: Sink, now: Date): Promise<void> {
  const queueUrl = stack.resources.EventQueue ?? stack.outputs.QueueUrl;
  const dlqUrl = stack.resources.DeadLetterQueue ?? stack.outputs.DeadLetterQueueUrl;
  const fn = stack.resources.SyncFunction ?? stack.outputs.FunctionName ?? stack.name;
  if (!queueUrl) {
    sink({ section: 'events', id: 'queue-exists', status: 'fail', resource: stack.name, message: 'the stack has no EventQueue', fix: 'run ec2ip deploy' });
    return;
  }
  let queueArn: string | undefined;
  await probe(sink, { section: 'events', id: 'queue-backlog', resource: queueUrl, action: 'sqs:GetQueueAttributes' }, async () => {
    const a = (await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
    queueArn = a.QueueArn;
    const visible = Number(a.ApproximateNumberOfMessages ?? 0);
    const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    const age = await oldestAge(c.cloudwatch, queueName(queueUrl), now);
    const ageText = age === undefined ? '' : `, oldest ${age} s`;
    const old = age !== undefined && age > MAX_QUEUE_AGE_SECONDS;
    sink({
      section: 'events',
      id: 'queue-backlog',
      status: old ? 'warn' : 'ok',
      resource: queueUrl,
      message: `${visible} waiting, ${inFlight} in flight${ageText}${old ? ` (over ${MAX_QUEUE_AGE_SECONDS} s: the function is not keeping up or not receiving)` : ''}`,
      ...(old ? { fix: 'check the event source mapping and the function\'s errors below; the function\'s log (`aws logs tail /aws/lambda/' + fn + '`) says why' } : {}),
    });
    policyCheck(stack, queueUrl, queueArn, a.Policy, sink);
  });

  for (const { logicalId, label } of RULES) {
    const physical = stack.resources[logicalId];
    if (!physical) {
      sink({ section: 'events', id: 'rule-exists', status: 'fail', resource: `${stack.name}/${logicalId}`, message: `the stack has no ${label}`, fix: 'run ec2ip deploy' });
      continue;
    }
    // On a custom bus (the hub's SpokeBus), CloudFormation's physical id is `bus|rule`.
    const [bus, name] = physical.includes('|') ? (physical.split('|', 2) as [string, string]) : [stack.hub ? stack.resources.SpokeBus : undefined, physical];
    const busFlag = bus ? ` --event-bus-name ${bus}` : '';
    await probe(sink, { section: 'events', id: 'rule-enabled', resource: name, action: 'events:DescribeRule' }, async () => {
      let rule;
      try {
        rule = await c.events.send(new DescribeRuleCommand({ Name: name, ...(bus ? { EventBusName: bus } : {}) }));
      } catch (error) {
        if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
        sink({ section: 'events', id: 'rule-enabled', status: 'fail', resource: name, message: `the ${label} does not exist${bus ? ` on the bus ${bus}` : ''}: its events are not delivered`, fix: 'run ec2ip deploy (it creates the rule again)' });
        return;
      }
      const enabled = rule.State === 'ENABLED';
      sink({
        section: 'events',
        id: 'rule-enabled',
        status: enabled ? 'ok' : 'fail',
        resource: name,
        message: enabled ? `${label} ENABLED` : `${label} is ${rule.State ?? 'in no state'}: its events are not delivered`,
        ...(enabled ? {} : { fix: `aws events enable-rule --name ${name}${busFlag}` }),
      });
    });
    await probe(sink, { section: 'events', id: 'rule-target', resource: name, action: 'events:ListTargetsByRule' }, async () => {
      const { Targets = [] } = await c.events.send(new ListTargetsByRuleCommand({ Rule: name, ...(bus ? { EventBusName: bus } : {}) }));
      const ok = queueArn !== undefined && Targets.some((t) => t.Arn === queueArn);
      sink({
        section: 'events',
        id: 'rule-target',
        status: ok ? 'ok' : 'fail',
        resource: name,
        message: ok ? `${label} targets the queue` : `${label} does not target the queue ${queueArn ?? queueUrl} (targets: ${Targets.map((t) => t.Arn).join(', ') || 'none'})`,
        ...(ok ? {} : { fix: 'run ec2ip deploy (it restores the target)' }),
      });
    });
  }

  await probe(sink, { section: 'events', id: 'event-source-mapping', resource: fn, action: 'lambda:ListEventSourceMappings' }, async () => {
    const { EventSourceMappings = [] } = await c.lambda.send(new ListEventSourceMappingsCommand({ FunctionName: fn }));
    const mapping = EventSourceMappings.find((m) => m.EventSourceArn === queueArn) ?? EventSourceMappings[0];
    if (!mapping) {
      sink({ section: 'events', id: 'event-source-mapping', status: 'fail', resource: fn, message: 'no event source mapping: the queue is never read', fix: 'run ec2ip deploy' });
      return;
    }
    const enabled = mapping.State === 'Enabled' || mapping.State === 'Enabling' || mapping.State === 'Updating';
    const reports = (mapping.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures');
    const status = !enabled ? 'fail' : reports ? 'ok' : 'warn';
    sink({
      section: 'events',
      id: 'event-source-mapping',
      status,
      resource: mapping.UUID ?? fn,
      message: !enabled
        ? `the queue → function mapping is ${mapping.State ?? 'in no state'}: events wait in the queue and nothing is published`
        : reports
          ? `the queue → function mapping is ${mapping.State}`
          : 'the mapping does not report batch item failures: one bad event retries its whole batch',
      ...(status === 'ok' ? {} : { fix: !enabled ? `aws lambda update-event-source-mapping --uuid ${mapping.UUID ?? '<uuid>'} --enabled` : 'run ec2ip deploy' }),
    });
  });

  if (dlqUrl) await checkDeadLetters(c, dlqUrl, fn, sink);
}

/** The queue name is the last part of its URL (CloudWatch's QueueName dimension). */
export function queueName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** CloudWatch's ApproximateAgeOfOldestMessage (maximum over the last 15 minutes); undefined without data. */
async function oldestAge(cloudwatch: CloudWatchClient, queue: string, now: Date): Promise<number | undefined> {
  try {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now.getTime() - 15 * 60_000),
        EndTime: now,
        MetricDataQueries: [{ Id: 'age', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: queue }] }, Period: 300, Stat: 'Maximum' } }],
      }),
    );
    const values = out.MetricDataResults?.[0]?.Values ?? [];
    return values.length > 0 ? Math.max(...values) : undefined;
  } catch {
    // The age is extra: without cloudwatch:GetMetricData the counts still tell.
    return undefined;
  }
}

type Statement = { Effect?: string; Principal?: unknown; Action?: string | string[]; Resource?: string | string[]; Condition?: Record<string, Record<string, string | string[]>> };

/** Whether `statement` lets EventBridge's rule `ruleArn` send to `queueArn`. */
export function admits(statement: Statement, queueArn: string | undefined, ruleArn: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  const principal = statement.Principal as { Service?: string | string[] } | string | undefined;
  const services = typeof principal === 'string' ? [principal] : [principal?.Service ?? []].flat();
  if (!services.some((s) => s === '*' || s === 'events.amazonaws.com')) return false;
  const actions = [statement.Action ?? []].flat();
  if (!actions.some((a) => a === '*' || a === 'sqs:*' || a.toLowerCase() === 'sqs:sendmessage')) return false;
  const resources = [statement.Resource ?? '*'].flat();
  if (queueArn !== undefined && !resources.some((r) => r === '*' || r === queueArn)) return false;
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      if (key.toLowerCase() !== 'aws:sourcearn') continue;
      const list = [values].flat();
      const like = /Like$/.test(operator);
      if (!list.some((v) => (like ? new RegExp(`^${v.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(ruleArn) : v === ruleArn))) return false;
    }
  }
  return true;
}

function policyCheck(stack: StackInfo, queueUrl: string, queueArn: string | undefined, policy: string | undefined, sink: Sink): void {
  let statements: Statement[] = [];
  try {
    statements = [(JSON.parse(policy ?? '{}') as { Statement?: Statement | Statement[] }).Statement ?? []].flat();
  } catch {
    statements = [];
  }
  const missing = RULES.filter(({ logicalId }) => {
    const physical = stack.resources[logicalId];
    const onBus = physical !== undefined && !physical.includes('|') && stack.hub && stack.resources.SpokeBus ? `${stack.resources.SpokeBus}|${physical}` : physical;
    return onBus !== undefined && !statements.some((s) => admits(s, queueArn, ruleArnOf(queueArn, onBus)));
  }).map((r) => r.label);
  sink({
    section: 'events',
    id: 'queue-policy',
    status: missing.length === 0 ? 'ok' : 'fail',
    resource: queueUrl,
    message: missing.length === 0 ? 'the queue policy admits both rules' : `the queue policy does not let EventBridge deliver the ${missing.join(' and ')}'s events: they are dropped`,
    ...(missing.length === 0 ? {} : { fix: 'run ec2ip deploy (it restores EventQueuePolicy)' }),
  });
}

/** A rule's ARN from its physical id, in the queue's partition, region and account: `arn:…:events:…:rule/[bus/]name`. */
export function ruleArnOf(queueArn: string | undefined, physical: string): string {
  const [bus, name] = physical.includes('|') ? physical.split('|', 2) : [undefined, physical];
  const base = queueArn?.split(':') ?? [];
  return `arn:${base[1] ?? 'aws'}:events:${base[3] ?? ''}:${base[4] ?? ''}:rule/${bus ? `${bus}/` : ''}${name}`;
}

/** What a dead-letter message says: the instance it is about. */
export function describeDeadLetter(body: string): string {
  try {
    const event = JSON.parse(body) as { detail?: { 'instance-id'?: unknown }; resources?: unknown };
    const id = event.detail?.['instance-id'];
    if (typeof id === 'string') return id;
    const arn = Array.isArray(event.resources) ? event.resources.find((r): r is string => typeof r === 'string' && r.includes(':instance/')) : undefined;
    if (arn) return arn.slice(arn.lastIndexOf('/') + 1);
    return 'no instance id (a malformed event)';
  } catch {
    return 'not JSON (a malformed event)';
  }
}

async function checkDeadLetters(c: EventClients, dlqUrl: string, fn: string, sink: Sink): Promise<void> {
  await probe(sink, { section: 'events', id: 'dead-letters', resource: dlqUrl, action: 'sqs:GetQueueAttributes' }, async () => {
    const a = (await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
    const count = Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (count === 0) {
      sink({ section: 'events', id: 'dead-letters', status: 'ok', resource: dlqUrl, message: 'the dead-letter queue is empty' });
      return;
    }
    let first = '';
    try {
      // A peek: VisibilityTimeout 0 leaves the message visible, nothing is deleted; it counts as
      // one receive of the dead-letter message, which has no redrive policy of its own to care.
      const { Messages = [] } = await c.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
      const m = Messages[0];
      if (m) first = `; the first is about ${describeDeadLetter(m.Body ?? '')}${await reasonOf(c.logs, fn, m.MessageId)}`;
    } catch {
      first = '; its first message could not be read (needs sqs:ReceiveMessage on the dead-letter queue)';
    }
    sink({
      section: 'events',
      id: 'dead-letters',
      status: 'fail',
      resource: dlqUrl,
      message: `${count} event${count === 1 ? '' : 's'} failed 10 times and wait in the dead-letter queue${first}`,
      fix: 'fix the cause, then `ec2ip doctor --redrive` moves them back to the queue (the next reconcile also repairs what they missed)',
    });
  });
}

/** The reason the function last logged for the message, or a pointer to the log. */
async function reasonOf(logs: CloudWatchLogsClient, fn: string, messageId: string | undefined): Promise<string> {
  if (!messageId) return '';
  try {
    const { events = [] } = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${fn}`, filterPattern: `"${messageId}"`, limit: 50 }));
    for (const e of [...events].reverse()) {
      try {
        const line = JSON.parse(e.message ?? '') as { reason?: unknown; messageId?: unknown };
        if (line.messageId === messageId && typeof line.reason === 'string') return `: ${line.reason}`;
      } catch {
        // not one of ec2ip's JSON lines
      }
    }
  } catch {
    // The reason is extra: the pointer below says where to look.
  }
  return ` (message ${messageId}; the reason is in the function's log)`;
}
