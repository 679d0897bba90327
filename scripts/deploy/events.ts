/** Stack events as progress lines, and the reasons of a failed deploy. */
import { DescribeStackEventsCommand, type CloudFormationClient, type StackEvent } from '@aws-sdk/client-cloudformation';

/** A stack status that will not change without a new operation. */
export function isTerminal(status: string | undefined): boolean {
  return !!status && !status.endsWith('_IN_PROGRESS');
}

/** The terminal statuses of a deploy that worked. */
export function isSuccess(status: string | undefined): boolean {
  return status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE' || status === 'IMPORT_COMPLETE';
}

function time(date: Date | undefined): string {
  return date ? date.toISOString().slice(11, 19) : '--:--:--';
}

/** One line: `12:34:56  CREATE_COMPLETE     AWS::SQS::Queue  EventQueue  reason`. */
export function formatEvent(e: StackEvent): string {
  const parts = [time(e.Timestamp), (e.ResourceStatus ?? '').padEnd(20), (e.ResourceType ?? '').padEnd(30), e.LogicalResourceId ?? ''];
  if (e.ResourceStatusReason) parts.push(`(${e.ResourceStatusReason})`);
  return parts.join('  ').trimEnd();
}

/** Follows one stack's events: `prime` marks what is already there, `poll` returns what is new, oldest first. */
export class EventWatcher {
  private readonly seen = new Set<string>();
  readonly all: StackEvent[] = [];

  constructor(
    private readonly cfn: CloudFormationClient,
    private readonly stack: string,
  ) {}

  async prime(): Promise<void> {
    try {
      const { StackEvents = [] } = await this.cfn.send(new DescribeStackEventsCommand({ StackName: this.stack }));
      for (const e of StackEvents) if (e.EventId) this.seen.add(e.EventId);
    } catch {
      // a stack that does not exist yet has no events
    }
  }

  /** New events since the last call (newest-first pages are read until a known event). */
  async poll(): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let NextToken: string | undefined;
    page: do {
      const out = await this.cfn.send(new DescribeStackEventsCommand({ StackName: this.stack, ...(NextToken ? { NextToken } : {}) }));
      for (const e of out.StackEvents ?? []) {
        if (!e.EventId || this.seen.has(e.EventId)) break page;
        fresh.push(e);
      }
      NextToken = out.NextToken;
    } while (NextToken);
    for (const e of fresh) if (e.EventId) this.seen.add(e.EventId);
    fresh.reverse();
    this.all.push(...fresh);
    return fresh;
  }
}

const CANCELLED = /^Resource (creation|update|deletion) cancelled$/i;

/**
 * Why a deploy failed, from its events: the resources that failed with their reasons (not
 * the ones CloudFormation merely cancelled), else the stack's own failure reasons.
 */
export function failureReasons(events: StackEvent[], stackName: string): string[] {
  const failed = events.filter((e) => /FAILED$/.test(e.ResourceStatus ?? '') && e.ResourceStatusReason);
  const resources = failed.filter((e) => e.ResourceType !== 'AWS::CloudFormation::Stack' && !CANCELLED.test(e.ResourceStatusReason ?? ''));
  const chosen = resources.length > 0 ? resources : failed;
  const lines = chosen.map((e) => `${e.LogicalResourceId ?? stackName} (${e.ResourceType ?? 'unknown type'}) ${e.ResourceStatus}: ${e.ResourceStatusReason}`);
  if (lines.length === 0) {
    const rollback = events.find((e) => e.ResourceType === 'AWS::CloudFormation::Stack' && /ROLLBACK_IN_PROGRESS$/.test(e.ResourceStatus ?? '') && e.ResourceStatusReason);
    if (rollback) lines.push(`${stackName}: ${rollback.ResourceStatusReason}`);
  }
  return [...new Set(lines)];
}
