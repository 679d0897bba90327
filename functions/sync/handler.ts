/**
 * The Lambda's logic: read the items of an invocation, sync the instances they name in
 * one run, and answer which items must come back. Wiring lives in index.ts.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorMessage, TransientError } from '../core/errors.js';
import type { InstanceState } from '../core/types.js';
import { sync, type Deps, type SyncResult } from './engine.js';
import { isSqsEvent, parseEvent, parseSqsRecord, type Request } from './input.js';

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
}

/** Per item: undefined when done, else why it must be retried. */
type Verdicts = Map<string, string | undefined>;

export interface HandlerOptions {
  now?: () => number;
}

/** Builds the handler around its dependencies. */
export function createHandler(deps: Deps, options: HandlerOptions = {}) {
  const now = options.now ?? Date.now;
  return async function handler(event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse | { status: 'done'; items: number }> {
    const sqs = isSqsEvent(event);
    const items = sqs ? readSqs(event) : [readDirect(event)];
    const remaining = context?.getRemainingTimeInMillis?.();
    // Leave time to answer: what is not written by then goes back to the queue.
    const deadline = remaining !== undefined ? Date.now() + remaining - DEADLINE_MARGIN_MS : undefined;
    try {
      const verdicts = await handleItems(deps, items, now(), deadline);
      const failures = [...verdicts].filter(([, why]) => why !== undefined);
      deps.metrics.add('Retried', failures.length);
      if (sqs) return { batchItemFailures: failures.map(([itemIdentifier]) => ({ itemIdentifier })) };
      if (failures.length > 0) throw new TransientError(failures.map(([, why]) => why).join('; '));
      return { status: 'done', items: items.length };
    } finally {
      deps.metrics.flush();
    }
  };
}

function readSqs(event: SQSEvent): Item[] {
  return event.Records.map((record) => {
    try {
      return { id: record.messageId, request: parseSqsRecord(record) };
    } catch (error) {
      return { id: record.messageId, malformed: errorMessage(error) };
    }
  });
}

function readDirect(event: unknown): Item {
  try {
    return { id: 'event', request: parseEvent(event) };
  } catch (error) {
    return { id: 'event', malformed: errorMessage(error) };
  }
}

async function handleItems(deps: Deps, items: Item[], now: number, deadline: number | undefined): Promise<Verdicts> {
  const verdicts: Verdicts = new Map();
  const { log, metrics } = deps;
  const instanceItems: { item: Item; request: Extract<Request, { instanceId: string }> }[] = [];
  let reconcile: Item[] = [];

  for (const item of items) {
    const request = item.request;
    if (!request) {
      // Logged once here; the retry sends it on to the DLQ, where an operator sees it.
      log.error('malformed event', { messageId: item.id, reason: item.malformed });
      metrics.add('Malformed');
      verdicts.set(item.id, `malformed event: ${item.malformed}`);
    } else if (request.kind === 'ignored') {
      log.info('event ignored', { messageId: item.id, reason: request.reason });
      verdicts.set(item.id, undefined);
    } else if (request.kind === 'reconcile') {
      reconcile = [...reconcile, item];
    } else {
      instanceItems.push({ item, request });
    }
  }

  const runs: Promise<void>[] = [];
  if (instanceItems.length > 0) {
    const ids = [...new Set(instanceItems.map((i) => i.request.instanceId))];
    const recentRunning = new Set(
      instanceItems.filter(({ request: r }) => r.kind === 'state' && r.state === 'running' && now - Date.parse(r.time) < PUBLIC_IP_GRACE_MS).map((i) => i.request.instanceId),
    );
    const thorough = instanceItems.some((i) => i.request.kind === 'tag');
    runs.push(
      run(deps, () => sync(deps, { kind: 'instances', ids, thorough }, { recentRunning, ...(deadline ? { deadline } : {}) }), instanceItems.map((i) => i.item), verdicts, (result) => {
        for (const { item, request } of instanceItems) verdicts.set(item.id, verdictOf(request, result, now));
      }),
    );
  }
  if (reconcile.length > 0) {
    const started = Date.now();
    runs.push(
      run(deps, () => sync(deps, { kind: 'all' }, deadline ? { deadline } : {}), reconcile, verdicts, (result) => {
        log.info('reconcile done', {
          instances: result.instances.size,
          ...result.stats,
          refused: result.plan.refusals.length,
          failed: result.failed.size,
          durationMs: Date.now() - started,
        });
        metrics.add('Reconciled');
        const why = result.failed.size > 0 ? `reconcile left ${result.failed.size} instances to retry: ${[...result.failed.values()][0]}` : undefined;
        for (const item of reconcile) verdicts.set(item.id, why);
      }),
    );
  }
  await Promise.all(runs);
  for (const [id, why] of verdicts) if (why) log.warn('item will be retried', { messageId: id, reason: why });
  return verdicts;
}

/** Runs a sync; if it cannot even read, every item it served goes back for a retry. */
async function run(deps: Deps, work: () => Promise<SyncResult>, items: Item[], verdicts: Verdicts, judge: (r: SyncResult) => void): Promise<void> {
  try {
    judge(await work());
  } catch (error) {
    deps.log.error('sync failed; the items will be retried', { reason: errorMessage(error), items: items.length });
    for (const item of items) verdicts.set(item.id, `sync failed: ${errorMessage(error)}`);
  }
}

/** SPEC "What each input gets": done (undefined) or why the item must come back. */
export function verdictOf(request: Extract<Request, { instanceId: string }>, result: SyncResult, now: number): string | undefined {
  const id = request.instanceId;
  const instance = result.instances.get(id);
  const failed = result.failed.get(id);
  if (request.kind === 'tag') return failed;
  if (!instance) {
    return request.state === 'pending' || request.state === 'running' ? `${id} is not visible to DescribeInstances yet after its ${request.state} event` : undefined;
  }
  if (PREDECESSOR[request.state] === instance.state) return `DescribeInstances still shows ${id} ${instance.state} after its ${request.state} event`;
  if (failed) return failed;
  if (request.state === 'running' && instance.state === 'running' && !instance.publicIp && now - Date.parse(request.time) < PUBLIC_IP_GRACE_MS) {
    return `${id} is running without a public IPv4 yet; waiting up to ${PUBLIC_IP_GRACE_MS / 60000} minutes for one`;
  }
  return undefined;
}

