/**
 * Each instance's SSH host keys, from what it printed on its console at boot (EC2
 * GetConsoleOutput). Needs `ec2:GetConsoleOutput` for the CLI's credentials.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { consoleOutput } from '../../functions/adapters/ec2.js';
import { explainAwsError, isAccessDenied } from './aws-errors.js';
import { CliError, EXIT } from './errors.js';
import { parseConsoleHostKeys, type HostKey } from './host-keys.js';

/** The keys an instance showed, or why there are none to trust. */
export type ConsoleKeys = { keys: HostKey[] } | { missing: string };

/** At most this many GetConsoleOutput calls at once (EC2 throttles per account). */
const CONCURRENCY = 5;

/** Reads the console of each instance; an instance without keys is reported in the result, never guessed. */
export async function readConsoleHostKeys(ec2: EC2Client, instanceIds: readonly string[]): Promise<Map<string, ConsoleKeys>> {
  const out = new Map<string, ConsoleKeys>();
  const queue = [...new Set(instanceIds)];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) out.set(id, await readOne(ec2, id));
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return out;
}

async function readOne(ec2: EC2Client, instanceId: string): Promise<ConsoleKeys> {
  let output: string | undefined;
  try {
    output = await consoleOutput(ec2, instanceId);
  } catch (error) {
    if (isAccessDenied(error)) {
      throw new CliError(
        `access denied reading the console output of ${instanceId}: verified host keys not yet recorded by the function need ec2:GetConsoleOutput for your credentials`,
        EXIT.failed,
        { cause: error },
      );
    }
    if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return { missing: 'EC2 no longer knows the instance' };
    throw explainAwsError(error, `reading the console output of ${instanceId}`);
  }
  if (!output) return { missing: 'its console output is empty (it has not booted yet, or printed nothing)' };
  const keys = parseConsoleHostKeys(output);
  return keys ? { keys } : { missing: 'its console output shows no "BEGIN SSH HOST KEY KEYS" block (cloud-init has not printed it yet, or does not on this image)' };
}
