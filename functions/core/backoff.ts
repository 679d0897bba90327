/**
 * How long a failed SQS item waits before it comes back: a delay that grows with the
 * message's receive count, never shorter than what its reason needs. Pure; the handler
 * applies it with ChangeMessageVisibility (functions/adapters/sqs.ts). Without it, a failed
 * item would wait the queue's visibility timeout (12 minutes in the deployed stack).
 */

/** Why an item must come back; each reason has its own floor (RETRY_FLOOR_S). */
export type RetryReason =
  /** A write that was throttled, failed or left at the invocation's deadline: it can land as soon as the rate allows. */
  | 'write'
  /** The run could not read (throttling, 5xx, a timeout after the SDK's retries). */
  | 'read'
  /** DescribeInstances lags the event (not visible yet, or the state before the event's), after the in-invocation rechecks. */
  | 'lagging'
  /** A running instance without a public IPv4 yet, inside its grace period. */
  | 'no-public-ip'
  /** A hub's spoke could not be reached (role missing, access denied, region disabled). */
  | 'spoke-unreachable'
  /** The event cannot be read: no retry can fix it, so it goes on to the DLQ at once. */
  | 'malformed';

/** The delay for the 1st, 2nd, … failure of a message (seconds); the last one repeats. */
export const BACKOFF_S: readonly number[] = [5, 15, 45, 120, 300];

/** The shortest delay per reason (seconds): when the reason says the item cannot succeed sooner. */
export const RETRY_FLOOR_S: Readonly<Record<RetryReason, number>> = {
  write: 0,
  read: 0,
  lagging: 10,
  'no-public-ip': 20,
  'spoke-unreachable': 20,
  malformed: 0,
};

/** SQS's limit for a message's visibility timeout: 12 hours. */
export const MAX_VISIBILITY_S = 12 * 60 * 60;

/**
 * The visibility timeout (seconds) to give a message that failed for `reason` on its
 * `receiveCount`-th receive (SQS's ApproximateReceiveCount, 1 on the first delivery). A
 * malformed event gets 0: it comes straight back until SQS moves it to the DLQ, where an
 * operator sees it. A missing or nonsensical count counts as the first receive.
 */
export function retryDelaySeconds(receiveCount: number, reason: RetryReason): number {
  if (reason === 'malformed') return 0;
  const n = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  const step = BACKOFF_S[Math.min(n, BACKOFF_S.length) - 1] ?? 0;
  return Math.min(MAX_VISIBILITY_S, Math.max(step, RETRY_FLOOR_S[reason]));
}

/**
 * The time a message spends waiting between its first receive and the DLQ when every
 * delivery fails for `reason`: the delays after receives 1 … maxReceiveCount (SQS moves it
 * to the DLQ when it would be received once more, so the last delay counts too). The
 * invocations' own time comes on top.
 */
export function waitBeforeDlqSeconds(maxReceiveCount: number, reason: RetryReason): number {
  let total = 0;
  for (let n = 1; n <= maxReceiveCount; n++) total += retryDelaySeconds(n, reason);
  return total;
}
