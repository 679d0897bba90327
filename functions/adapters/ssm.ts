import { DeleteParametersCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
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

/**
 * Writes the changes: deletes in batches of 10, puts a few at a time. A `create` writes
 * only if the parameter is absent, so a claim never overwrites a racing claimant.
 */
export async function applyParameters(ssm: SSMClient, changes: readonly ParameterChange[]): Promise<ParameterOutcome> {
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
          await ssm.send(
            new PutParameterCommand({ Name: change.parameter, Value: change.value, Type: 'String', Overwrite: change.action === 'put', Description: 'Managed by ec2ip' }),
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
