/**
 * The Lambda's logic: read the items of an invocation, sync the instances they name in
 * one run, and answer which items must come back. Wiring lives in index.ts.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { changeVisibility, type VisibilityChange } from '../adapters/sqs.js';
import { retryDelaySeconds, type RetryReason } from '../core/backoff.js';
import { errorMessage, TransientError } from '../core/errors.js';
import { instanceKey, spokeKey } from '../core/ownership.js';
import type { InstanceState } from '../core/types.js';
import { sync, type Deps, type SyncResult } from './engine.js';
import { eventOrigin, isSqsEvent, parseEvent, sqsBody, type Origin, type Request } from './input.js';

/** How long a running instance without a public IPv4 is given to get one. */
export const PUBLIC_IP_GRACE_MS = 2 * 60 * 1000;

/** Time kept back from the invocation's deadline to report which items must come back. */
const DEADLINE_MARGIN_MS = 10_000;

/** The state DescribeInstances shows when its read lags an event of the given state. */
const PREDECESSOR: Partial<Record<InstanceState, InstanceState>> = { running: 'pending', stopped: 'stopping', terminated: 'shutting-down' };

interface Item {
  /** The SQS message id, or `event` for a direct invocation. */
  id: string;
  request?: Request;
  malformed?: string;
  /** The event's account and region (read in hub mode only). */
  origin?: Origin;
  /** An SQS item: what its retry delay needs. */
  message?: { receiptHandle: string; queueArn: string; receiveCount: number };
}

/** Why an item must come back: the log line's text and the reason that sets its retry delay. */
interface Retry {
  why: string;
  reason: RetryReason;
}

/** Per item: undefined when done, else why it must be retried. */
type Verdicts = Map<string, Retry | undefined>;

export interface HandlerOptions {
  now?: () => number;
  /**
   * When DescribeInstances lags an event (the instance not visible yet, the state before the
   * event's, no public IP yet), wait this long and read again within the invocation, once per
   * entry, before sending the item back: an SQS retry comes 10 s or more later (core/backoff.ts).
   */
  recheckDelaysMs?: readonly number[];
  /**
   * The SQS client that gives each failed item its retry delay (core/backoff.ts) before the
   * handler answers. None (the CLI, unit tests): failed items wait for the queue's visibility timeout.
   */
  sqs?: SQSClient;
}

/** The longest the retry delays may take to set, at the end of an invocation. */
const VISIBILITY_BUDGET_MS = 5_000;

/** Default waits before reading a lagging instance again: lags are usually a few seconds. */
export const RECHECK_DELAYS_MS = [2_000, 5_000];

/** Builds the handler around its dependencies. */
export function createHandler(deps: Deps, options: HandlerOptions = {}) {
  const now = options.now ?? Date.now;
  const rechecks = options.recheckDelaysMs ?? RECHECK_DELAYS_MS;
  return async function handler(event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse | { status: 'done'; items: number }> {
    const sqs = isSqsEvent(event);
    const hub = deps.config.hub !== undefined;
    const items = sqs ? readSqs(event, hub) : [readDirect(event, hub)];
    const remaining = context?.getRemainingTimeInMillis?.();
    // Leave time to answer: what is not written by then goes back to the queue.
    const deadline = remaining !== undefined ? Date.now() + remaining - DEADLINE_MARGIN_MS : undefined;
    try {
      const verdicts = await handleItems(deps, items, { now, deadline, rechecks });
      const failures = [...verdicts].filter(([, retry]) => retry !== undefined);
      deps.metrics.add('Retried', failures.length);
      if (sqs) {
        if (options.sqs && failures.length > 0) await setRetryDelays(deps, options.sqs, items, verdicts, deadline);
        return { batchItemFailures: failures.map(([itemIdentifier]) => ({ itemIdentifier })) };
      }
      if (failures.length > 0) throw new TransientError(failures.map(([, retry]) => retry?.why).join('; '));
      return { status: 'done', items: items.length };
    } finally {
      deps.metrics.flush();
    }
  };
}

function readSqs(event: SQSEvent, hub: boolean): Item[] {
  return event.Records.map((record) => {
    const message = { receiptHandle: record.receiptHandle, queueArn: record.eventSourceARN, receiveCount: Number(record.attributes?.ApproximateReceiveCount) };
    try {
      const event = sqsBody(record);
      const request = parseEvent(event);
      return hub ? { id: record.messageId, request, origin: eventOrigin(event), message } : { id: record.messageId, request, message };
    } catch (error) {
      return { id: record.messageId, malformed: errorMessage(error), message };
    }
  });
}

/**
 * Gives each failed SQS item its retry delay (ChangeMessageVisibility from now), instead of
 * the queue's visibility timeout. A failure here is logged and changes nothing else: that
 * item comes back after the queue's timeout, as it would have anyway.
 */
async function setRetryDelays(deps: Deps, sqs: SQSClient, items: readonly Item[], verdicts: Verdicts, deadline: number | undefined): Promise<void> {
  const changes: VisibilityChange[] = [];
  for (const item of items) {
    const retry = verdicts.get(item.id);
    if (!retry || !item.message?.receiptHandle || !item.message.queueArn) continue;
    changes.push({ messageId: item.id, receiptHandle: item.message.receiptHandle, queueArn: item.message.queueArn, seconds: retryDelaySeconds(item.message.receiveCount, retry.reason) });
  }
  if (changes.length === 0) return;
  // Stay inside the invocation: its deadline leaves DEADLINE_MARGIN_MS for answering.
  const budget = deadline === undefined ? VISIBILITY_BUDGET_MS : Math.max(1_000, Math.min(VISIBILITY_BUDGET_MS, deadline + DEADLINE_MARGIN_MS - 2_000 - Date.now()));
  const failed = await changeVisibility(sqs, changes, budget);
  if (failed.length === 0) return;
  deps.metrics.add('RetryDelayNotSet', failed.length);
  deps.log.warn("retry delay not set; the items come back after the queue's visibility timeout", {
    messageIds: failed.map((f) => f.messageId),
    queueArn: failed[0]?.queueArn,
    reason: failed[0]?.reason,
    fix: 'check that the function may call sqs:ChangeMessageVisibility on the queue',
  });
}

function readDirect(event: unknown, hub: boolean): Item {
  try {
    const request = parseEvent(event);
    return hub ? { id: 'event', request, origin: eventOrigin(event) } : { id: 'event', request };
  } catch (error) {
    return { id: 'event', malformed: errorMessage(error) };
  }
}

interface Timing {
  now: () => number;
  deadline: number | undefined;
  rechecks: readonly number[];
}

/** An item about one instance; `key` is its instanceKey (in a hub: `<account>/<region>/<id>`). */
type InstanceItem = { item: Item; request: Extract<Request, { instanceId: string }>; key: string };

async function handleItems(deps: Deps, items: Item[], timing: Timing): Promise<Verdicts> {
  const verdicts: Verdicts = new Map();
  const { log, metrics } = deps;
  const { deadline } = timing;
  const instanceItems: InstanceItem[] = [];
  let reconcile: Item[] = [];

  for (const item of items) {
    const request = item.request;
    if (!request) {
      // Logged once here; the retry sends it on to the DLQ, where an operator sees it.
      log.error('malformed event', { messageId: item.id, reason: item.malformed });
      metrics.add('Malformed');
      verdicts.set(item.id, { why: `malformed event: ${item.malformed}`, reason: 'malformed' });
    } else if (request.kind === 'ignored') {
      log.info('event ignored', { messageId: item.id, reason: request.reason });
      verdicts.set(item.id, undefined);
    } else if (request.kind === 'reconcile') {
      reconcile = [...reconcile, item];
    } else if (!deps.config.hub) {
      instanceItems.push({ item, request, key: request.instanceId });
    } else {
      const { account, region } = item.origin ?? {};
      const spokes = deps.config.hub.spokes;
      if (account === undefined || region === undefined) {
        const reason = `the event about ${request.instanceId} has no valid "account" and "region": a hub needs them to know which spoke the instance is in`;
        log.error('malformed event', { messageId: item.id, reason });
        metrics.add('Malformed');
        verdicts.set(item.id, { why: `malformed event: ${reason}`, reason: 'malformed' });
      } else if (spokes && !spokes.some((s) => s.account === account && s.region === region)) {
        log.warn('event ignored', { messageId: item.id, instanceId: request.instanceId, account, region, reason: `account ${account} in ${region} is not one of this hub's SPOKES` });
        verdicts.set(item.id, undefined);
      } else {
        instanceItems.push({ item, request, key: instanceKey({ id: request.instanceId, account, region }) });
      }
    }
  }

  const runs: Promise<void>[] = [];
  if (instanceItems.length > 0) runs.push(syncInstances(deps, instanceItems, verdicts, timing));
  if (reconcile.length > 0) {
    const started = Date.now();
    runs.push(
      run(deps, () => sync(deps, { kind: 'all' }, deadline ? { deadline } : {}), reconcile, verdicts).then((result) => {
        if (!result) return;
        log.info('reconcile done', {
          instances: result.instances.size,
          ...(result.unreachable.size > 0 ? { unreachable: [...result.unreachable.keys()] } : {}),
          ...result.stats,
          refused: result.plan.refusals.length,
          failed: result.failed.size,
          durationMs: Date.now() - started,
        });
        metrics.add('Reconciled');
        const why = result.failed.size > 0 ? `reconcile left ${result.failed.size} instances to retry: ${[...result.failed.values()][0]}` : undefined;
        for (const item of reconcile) verdicts.set(item.id, why === undefined ? undefined : { why, reason: 'write' });
      }),
    );
  }
  await Promise.all(runs);
  for (const item of items) {
    const retry = verdicts.get(item.id);
    if (!retry) continue;
    const delay = item.message ? { retryInSeconds: retryDelaySeconds(item.message.receiveCount, retry.reason), receiveCount: item.message.receiveCount } : {};
    log.warn('item will be retried', { messageId: item.id, reason: retry.why, ...delay });
  }
  return verdicts;
}

/**
 * Syncs the instances the items name, in one run; then, while DescribeInstances lags some
 * of them and the invocation has time, waits and syncs just those again.
 */
async function syncInstances(deps: Deps, all: InstanceItem[], verdicts: Verdicts, { now, deadline, rechecks }: Timing): Promise<void> {
  let pending = all;
  for (let round = 0; ; round++) {
    const at = now();
    const ids = [...new Set(pending.map((i) => i.key))];
    const recentRunning = new Set(pending.filter(({ request: r }) => r.kind === 'state' && r.state === 'running' && at - Date.parse(r.time) < PUBLIC_IP_GRACE_MS).map((i) => i.key));
    const thorough = pending.some((i) => i.request.kind === 'tag');
    const result = await run(deps, () => sync(deps, { kind: 'instances', ids, thorough }, { recentRunning, ...(deadline ? { deadline } : {}) }), pending.map((i) => i.item), verdicts);
    if (!result) return;
    for (const { item, request, key } of pending) {
      const unreachable = unreachableVerdict(item, result);
      verdicts.set(item.id, unreachable ? { why: unreachable, reason: 'spoke-unreachable' } : retryOf(request, result, at, key));
    }
    // A state event whose item must come back for any reason but a failed write (or an unreachable spoke) is waiting for EC2's read to catch up.
    const lagging = pending.filter(({ item, request, key }) => request.kind === 'state' && verdicts.get(item.id) !== undefined && !result.failed.has(key) && !unreachableVerdict(item, result));
    const wait = rechecks[round];
    if (lagging.length === 0 || wait === undefined || (deadline !== undefined && Date.now() + wait + RECHECK_RESERVE_MS > deadline)) return;
    deps.log.info('DescribeInstances lags the events; reading again', { instanceIds: [...new Set(lagging.map((i) => i.request.instanceId))], waitMs: wait });
    await new Promise((resolve) => setTimeout(resolve, wait));
    pending = lagging;
  }
}

/** Time a recheck must leave before the deadline for its own reads and writes. */
const RECHECK_RESERVE_MS = 10_000;

/** Runs a sync; if it cannot even read, every item it served goes back for a retry. */
async function run(deps: Deps, work: () => Promise<SyncResult>, items: Item[], verdicts: Verdicts): Promise<SyncResult | undefined> {
  try {
    return await work();
  } catch (error) {
    deps.log.error('sync failed; the items will be retried', { reason: errorMessage(error), items: items.length });
    for (const item of items) verdicts.set(item.id, { why: `sync failed: ${errorMessage(error)}`, reason: 'read' });
    return undefined;
  }
}

/** A hub's item whose spoke could not be read comes back, with the reason. */
function unreachableVerdict(item: Item, result: SyncResult): string | undefined {
  const { account, region } = item.origin ?? {};
  if (account === undefined || region === undefined) return undefined;
  const why = result.unreachable.get(spokeKey({ account, region }));
  return why === undefined ? undefined : `spoke unreachable: ${why}`;
}

/** SPEC "What each input gets": done (undefined) or why the item must come back. `key` is the instance's key in the result (a hub's `<account>/<region>/<id>`). */
export function verdictOf(request: Extract<Request, { instanceId: string }>, result: SyncResult, now: number, key = request.instanceId): string | undefined {
  return retryOf(request, result, now, key)?.why;
}

/** verdictOf with the reason that sets the retry delay. */
function retryOf(request: Extract<Request, { instanceId: string }>, result: SyncResult, now: number, key: string): Retry | undefined {
  const id = request.instanceId;
  const instance = result.instances.get(key);
  const failed = result.failed.get(key);
  if (request.kind === 'tag') return failed === undefined ? undefined : { why: failed, reason: 'write' };
  if (!instance) {
    return request.state === 'pending' || request.state === 'running' ? { why: `${id} is not visible to DescribeInstances yet after its ${request.state} event`, reason: 'lagging' } : undefined;
  }
  if (PREDECESSOR[request.state] === instance.state) return { why: `DescribeInstances still shows ${id} ${instance.state} after its ${request.state} event`, reason: 'lagging' };
  if (failed) return { why: failed, reason: 'write' };
  if (request.state === 'running' && instance.state === 'running' && !instance.publicIp && now - Date.parse(request.time) < PUBLIC_IP_GRACE_MS) {
    return { why: `${id} is running without a public IPv4 yet; waiting up to ${PUBLIC_IP_GRACE_MS / 60000} minutes for one`, reason: 'no-public-ip' };
  }
  return undefined;
}

