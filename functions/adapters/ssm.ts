import { DeleteParametersCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, TransientError } from '../core/errors.js';
import type { ParameterChange } from '../core/plan.js';

/** Parameters read so far under a path; `next` is set while the listing is not complete. */
export interface ParameterListing {
  parameters: Map<string, string>;
  next?: string;
}

/** Reads `maxPages` pages (10 parameters each, SSM's limit) of everything under `path`. */
export async function listParameters(ssm: SSMClient, path: string, from?: string, maxPages = Number.POSITIVE_INFINITY): Promise<ParameterListing> {
  const parameters = new Map<string, string>();
  let token = from;
  for (let page = 0; page < maxPages; page++) {
    const out = await ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true, MaxResults: 10, NextToken: token }));
    for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) parameters.set(p.Name, p.Value);
    token = out.NextToken;
    if (!token) return { parameters };
  }
  return token ? { parameters, next: token } : { parameters };
}

/** Reads the given parameters (absent ones are left out), 10 names per call in parallel. */
export async function getParameters(ssm: SSMClient, names: readonly string[]): Promise<Map<string, string>> {
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += 10) chunks.push(names.slice(i, i + 10));
  const pages = await Promise.all(chunks.map((Names) => ssm.send(new GetParametersCommand({ Names }))));
  const out = new Map<string, string>();
  for (const page of pages) for (const p of page.Parameters ?? []) if (p.Name && p.Value !== undefined) out.set(p.Name, p.Value);
  return out;
}

/** What happened to each parameter change. */
export interface ParameterOutcome {
  applied: ParameterChange[];
  failed: { change: ParameterChange; error: unknown }[];
}

/** How many PutParameter calls run at once: SSM allows only a few per second on standard throughput. */
const PUT_CONCURRENCY = 4;
/** Without a deadline from the caller: how long one run keeps putting before leaving the rest to the next delivery. */
const PUT_BUDGET_MS = 60_000;

/**
 * Paces PutParameter: a token bucket per process. SSM's standard throughput allows a few puts
 * per second per account; pacing keeps a burst from spending the SDK's retry quota on
 * throttling errors, after which every throttled put would fail at once and its item would
 * be retried again and again until it lands in the DLQ. An event's few puts still go at once
 * (the bucket's burst).
 */
export class PutPacer {
  private tokens: number;
  private at = Date.now();

  constructor(
    readonly perSecond: number,
    private readonly burst = 3,
  ) {
    if (!(perSecond > 0)) {
      throw new ConfigError(`EC2IP_PUT_PARAMETER_RATE="${perSecond}" is not a rate: give PutParameter calls per second, e.g. 3 (more with SSM's higher throughput setting)`);
    }
    this.tokens = burst;
  }

  /** Waits for a token; false if the next one would come after `deadline`. */
  async take(deadline: number): Promise<boolean> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
      this.at = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return true;
      }
      const wait = ((1 - this.tokens) / this.perSecond) * 1000;
      if (now + wait > deadline) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function pacedPut(ssm: SSMClient, command: PutParameterCommand, deadline: number, pacer: PutPacer | undefined): Promise<void> {
  for (let wait = 500; ; wait = Math.min(wait * 2, 8000)) {
    if (pacer && !(await pacer.take(deadline))) {
      throw new TransientError(`no time left in this invocation to write ${command.input.Name} at ${pacer.perSecond} puts per second; the next delivery writes it`);
    }
    try {
      await ssm.send(command);
      return;
    } catch (error) {
      const throttled = (error as { $retryable?: { throttling?: boolean }; name?: string }).$retryable?.throttling === true || (error as { name?: string }).name === 'ThrottlingException';
      if (!throttled || Date.now() + wait > deadline) throw error;
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random() / 2)));
    }
  }
}

/**
 * Writes the changes: deletes in batches of 10, puts a few at a time. A `create` writes
 * only if the parameter is absent, so a claim never overwrites a racing claimant.
 */
export async function applyParameters(
  ssm: SSMClient,
  changes: readonly ParameterChange[],
  { deadline = Date.now() + PUT_BUDGET_MS, pacer }: { deadline?: number; pacer?: PutPacer } = {},
): Promise<ParameterOutcome> {
  const outcome: ParameterOutcome = { applied: [], failed: [] };
  const deletes = changes.filter((c) => c.action === 'delete');
  const puts = changes.filter((c) => c.action !== 'delete');
  const deleteChunks: ParameterChange[][] = [];
  for (let i = 0; i < deletes.length; i += 10) deleteChunks.push(deletes.slice(i, i + 10));

  const deleting = Promise.all(
    deleteChunks.map(async (chunk) => {
      try {
        // Parameters already gone come back as InvalidParameters: the goal is met either way.
        await ssm.send(new DeleteParametersCommand({ Names: chunk.map((c) => c.parameter) }));
        outcome.applied.push(...chunk);
      } catch (error) {
        outcome.failed.push(...chunk.map((change) => ({ change, error })));
      }
    }),
  );
  const queue = [...puts];
  const putting = Promise.all(
    Array.from({ length: Math.min(PUT_CONCURRENCY, queue.length) }, async () => {
      for (let change = queue.shift(); change; change = queue.shift()) {
        try {
          await pacedPut(
            ssm,
            new PutParameterCommand({ Name: change.parameter, Value: change.value, Type: 'String', Overwrite: change.action === 'put', Description: 'Managed by ec2ip' }),
            deadline,
            pacer,
          );
          outcome.applied.push(change);
        } catch (error) {
          outcome.failed.push({ change, error });
        }
      }
    }),
  );
  await Promise.all([deleting, putting]);
  return outcome;
}
