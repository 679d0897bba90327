/**
 * `--redrive`: SQS's message move task from the dead-letter queue back to the event queue.
 * Nothing is deleted: SQS moves each message (the same body) and removes it from the DLQ only
 * once it is in the destination.
 */
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isAccessDenied } from '../cli/aws-errors.js';
import type { Sink } from './probe.js';

export interface RedriveOptions {
  /** Waits between ListMessageMoveTasks polls (tests pass a short one). */
  pollMs?: number;
  /** Gives up waiting (the task goes on in SQS) after this long. */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const arnOf = async (sqs: SQSClient, url: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;

/** Starts the move task and waits for it; one `redrive` line says how many moved. */
export async function redrive(sqs: SQSClient, dlqUrl: string, queueUrl: string, sink: Sink, options: RedriveOptions = {}): Promise<void> {
  const { pollMs = 1000, maxWaitMs = 120_000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = options;
  const base = { section: 'redrive' as const, id: 'redrive', resource: dlqUrl };
  try {
    const [source, destination] = [await arnOf(sqs, dlqUrl), await arnOf(sqs, queueUrl)];
    if (!source || !destination) throw new Error('GetQueueAttributes returned no QueueArn');
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source, DestinationArn: destination }));
    for (let waited = 0; ; waited += pollMs) {
      const task = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: source, MaxResults: 1 }))).Results?.[0];
      const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
      if (task?.Status === 'COMPLETED') {
        sink({ ...base, status: 'ok', message: `moved ${moved} message${moved === 1 ? '' : 's'} back to ${queueUrl}; nothing was deleted` });
        return;
      }
      if (task?.Status === 'FAILED' || task?.Status === 'CANCELLED') {
        sink({ ...base, status: 'fail', message: `the move task ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''} after moving ${moved}`, fix: `see \`aws sqs list-message-move-tasks --source-arn ${source}\`` });
        return;
      }
      if (waited >= maxWaitMs) {
        sink({ ...base, status: 'warn', message: `the move task is still ${task?.Status ?? 'starting'} (${moved} moved so far); it goes on in SQS`, fix: `follow it: \`aws sqs list-message-move-tasks --source-arn ${source}\`` });
        return;
      }
      await sleep(pollMs);
    }
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (isAccessDenied(error)) {
      sink({ ...base, status: 'fail', message: 'cannot redrive: access denied (your credentials lack sqs:StartMessageMoveTask)', fix: 'allow sqs:StartMessageMoveTask, sqs:ListMessageMoveTasks, sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the DLQ and sqs:SendMessage on the queue (README "IAM for the CLI")', missingPermission: 'sqs:StartMessageMoveTask' });
      return;
    }
    sink({ ...base, status: 'fail', message: `the redrive failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(error)}`, fix: 'redrive from the console: SQS → the dead-letter queue → "Start DLQ redrive"' });
  }
}
