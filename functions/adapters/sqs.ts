import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../core/errors.js';

/** One message whose visibility is to change: the record's receipt handle and queue ARN, and the new timeout. */
export interface VisibilityChange {
  /** The SQS message id (for the log). */
  messageId: string;
  receiptHandle: string;
  /** The record's `eventSourceARN`: `arn:<partition>:sqs:<region>:<account>:<queue>`. */
  queueArn: string;
  /** Seconds from the time of the call (SQS's VisibilityTimeout). */
  seconds: number;
}

/** A change that did not happen, and why: the message then comes back after the queue's own visibility timeout. */
export interface VisibilityFailure {
  messageId: string;
  queueArn: string;
  reason: string;
}

/** ChangeMessageVisibilityBatch takes at most 10 entries. */
const BATCH = 10;

/**
 * The queue URL of a queue ARN (`arn:aws:sqs:eu-west-1:123456789012:q` →
 * `https://sqs.eu-west-1.amazonaws.com/123456789012/q`); undefined if it is not one. The
 * client sends the request to its own endpoint (useQueueUrlAsEndpoint off), so only the
 * URL's path (account and name) matters to SQS, and AWS_ENDPOINT_URL keeps working.
 */
export function queueUrlOf(arn: string): string | undefined {
  const m = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(arn);
  if (!m) return undefined;
  const [, partition, region, account, name] = m;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/**
 * Sets each message's visibility timeout, in calls of up to 10 per queue, all in parallel.
 * Never throws: a refused call or entry is returned as a failure (the message then waits for
 * the queue's visibility timeout instead, as it would have without this). A call still
 * running after `timeoutMs` is given up on (the invocation must answer in time).
 */
export async function changeVisibility(sqs: SQSClient, changes: readonly VisibilityChange[], timeoutMs?: number): Promise<VisibilityFailure[]> {
  const failures: VisibilityFailure[] = [];
  const byQueue = new Map<string, VisibilityChange[]>();
  for (const c of changes) {
    if (queueUrlOf(c.queueArn) === undefined) {
      failures.push({ messageId: c.messageId, queueArn: c.queueArn, reason: `"${c.queueArn}" is not an SQS queue ARN` });
      continue;
    }
    byQueue.set(c.queueArn, [...(byQueue.get(c.queueArn) ?? []), c]);
  }
  const calls: Promise<void>[] = [];
  for (const [arn, list] of byQueue) {
    const QueueUrl = queueUrlOf(arn) as string;
    for (let i = 0; i < list.length; i += BATCH) {
      const chunk = list.slice(i, i + BATCH);
      calls.push(
        (async () => {
          try {
            const command = new ChangeMessageVisibilityBatchCommand({ QueueUrl, Entries: chunk.map((c, j) => ({ Id: String(j), ReceiptHandle: c.receiptHandle, VisibilityTimeout: c.seconds })) });
            // A signal per call: each call adds its listeners to its own.
            const abortSignal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
            const sent = sqs.send(command, abortSignal ? { abortSignal } : {});
            // The race also ends a call stuck before the SDK looks at the signal.
            const out = abortSignal ? await Promise.race([sent, aborted(abortSignal)]) : await sent;
            for (const f of out.Failed ?? []) {
              const c = chunk[Number(f.Id)];
              if (c) failures.push({ messageId: c.messageId, queueArn: arn, reason: `${f.Code ?? 'error'}: ${f.Message ?? 'no message'}` });
            }
          } catch (error) {
            for (const c of chunk) failures.push({ messageId: c.messageId, queueArn: arn, reason: errorMessage(error) });
          }
        })(),
      );
    }
  }
  await Promise.all(calls);
  return failures;
}

/** Rejects when the signal aborts (with its reason), so a call can be given up on. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('the call was aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
